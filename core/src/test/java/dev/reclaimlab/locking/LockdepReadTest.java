package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Read acquisitions as 4.3 and 5.3 record them (lock_acquire()'s read argument): down_read() is read = 1
 * and gets dependencies as a write does; only a recursive read (2) stores none and may follow a read of
 * its own class.
 */
@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "8m", watchdog = false)
class LockdepReadTest {
    private static final LockClassKey A = new LockClassKey("&a->rwsem");
    private static final LockClassKey B = new LockClassKey("&b->rwsem");
    private static final LockClassKey C = new LockClassKey("&c->lock");

    private static Kernel boot(Kernels kernels, String version) {
        return kernels.boot(b -> b.version(KernelVersion.parse(version)));
    }

    @ParameterizedTest(name = "linux-{0}")
    @ValueSource(strings = {"4.3", "5.3"})
    void readAReadBAgainstWriteBWriteAIsACircularDependency(String version, Kernels kernels) {
        Kernel k = boot(kernels, version);
        RwSemaphore a = new RwSemaphore("a", A);
        RwSemaphore b = new RwSemaphore("b", B);
        a.downRead();
        b.downRead();
        b.upRead();
        a.upRead();
        assertThat(k.lockdep().stats().directDependencies()).as("a read = 1 is a prev").isEqualTo(1);
        b.downWrite();
        a.downWrite();
        a.upWrite();
        b.upWrite();
        assertThat(k.lockdep().reports()).singleElement().satisfies(r -> {
            assertThat(r.type()).isEqualTo(LockdepReport.Type.CIRCULAR);
            assertThat(r.acquiring().className()).isEqualTo("&a->rwsem");
            assertThat(r.acquiring().read()).isZero();
            assertThat(r.holding().className()).isEqualTo("&b->rwsem");
            assertThat(r.chain()).extracting(LockdepReport.ChainEntry::className).containsExactly("&b->rwsem", "&a->rwsem");
            assertThat(r.chain().get(0).usage()).as("b read and written").startsWith("++++");
            assertThat(r.verdict().status()).as("the same a and b on both sides").isEqualTo(LockdepReport.Verdict.Status.CONFIRMED);
        });
    }

    @ParameterizedTest(name = "linux-{0}")
    @ValueSource(strings = {"4.3", "5.3"})
    void aReadAfterAReadOfTheSameClassIsRecursiveLocking(String version, Kernels kernels) {
        Kernel k = boot(kernels, version);
        RwSemaphore mm1 = new RwSemaphore("mm1->mmap_sem", A);
        RwSemaphore mm2 = new RwSemaphore("mm2->mmap_sem", A);
        mm1.downRead();
        mm2.downRead();
        mm2.upRead();
        mm1.upRead();
        assertThat(k.lockdep().reports()).singleElement().satisfies(r -> {
            assertThat(r.type()).isEqualTo(LockdepReport.Type.RECURSIVE);
            assertThat(r.acquiring().read()).isEqualTo(Lockdep.READ);
            assertThat(r.holding().read()).isEqualTo(Lockdep.READ);
        });
    }

    @ParameterizedTest(name = "linux-{0}")
    @ValueSource(strings = {"4.3", "5.3"})
    void aRecursiveReadMayFollowAReadAndStoresNoDependency(String version, Kernels kernels) {
        Kernel k = boot(kernels, version);
        Task t = k.currentTask();
        LockdepMap a1 = new LockdepMap("a1", A);
        LockdepMap a2 = new LockdepMap("a2", A);
        LockdepMap b = new LockdepMap("b", B);
        k.lockdep().lockAcquire(t, a1, 0, Lockdep.READ, false);
        k.lockdep().lockAcquire(t, a2, 0, Lockdep.READ_RECURSIVE, false);
        k.lockdep().lockAcquire(t, b, 0, Lockdep.READ_RECURSIVE, false);
        assertThat(k.lockdep().reports()).isEmpty();
        assertThat(k.lockdep().stats().directDependencies()).as("no edge to a recursive read").isZero();
        Mutex c = new Mutex("c", C);
        c.mutexLock();
        c.mutexUnlock();
        assertThat(k.lockdep().stats().directDependencies())
                .as("held recursive reads are no prev: the edge comes from a1").isEqualTo(1);
        k.lockdep().lockRelease(t, b);
        k.lockdep().lockRelease(t, a2);
        k.lockdep().lockRelease(t, a1);
        assertThat(k.lockdep().reports()).isEmpty();
    }

    @ParameterizedTest(name = "linux-{0}")
    @ValueSource(strings = {"4.3", "5.3"})
    void aRecursiveReadIsStillCheckedForACycle(String version, Kernels kernels) {
        Kernel k = boot(kernels, version);
        Task t = k.currentTask();
        RwSemaphore a = new RwSemaphore("a", A);
        RwSemaphore b = new RwSemaphore("b", B);
        b.downWrite();
        a.downWrite();
        a.upWrite();
        b.upWrite();
        a.downWrite();
        k.lockdep().lockAcquire(t, b.depMap(), 0, Lockdep.READ_RECURSIVE, false);
        k.lockdep().lockRelease(t, b.depMap());
        a.upWrite();
        assertThat(k.lockdep().reports()).extracting(LockdepReport::type).containsExactly(LockdepReport.Type.CIRCULAR);
    }

    @Test
    void aDowngradedWriteIsARead(Kernel k) {
        RwSemaphore a = new RwSemaphore("a", A);
        a.downWrite();
        a.downgradeWrite();
        assertThat(k.currentTask().heldLocks().snapshot()).singleElement()
                .satisfies(h -> assertThat(h.read()).isEqualTo(Lockdep.READ));
        a.upRead();
    }

    /**
     * The same orders at once: with reader and writer each holding one, both wait; lockdep reported it
     * before either blocked, and the watchdog's proof confirms the report.
     */
    @Test
    @Boot(memory = "8m", hungTaskScanMillis = 100, hungTaskTimeoutMillis = 60_000)
    void theInversionIsARealDeadlockTheWatchdogProvesAndTheVerdictSaysSo(Kernel k) throws Exception {
        CountDownLatch panicked = new CountDownLatch(1);
        k.addPanicNotifier(panicked::countDown);
        RwSemaphore a = new RwSemaphore("a", A);
        RwSemaphore b = new RwSemaphore("b", B);
        Completion aHeld = new Completion("a_held");
        Completion bHeld = new Completion("b_held");
        k.kthreadRun("reader", t -> {
            a.downRead();
            aHeld.complete();
            bHeld.waitForCompletion();
            b.downRead();
        });
        k.kthreadRun("writer", t -> {
            aHeld.waitForCompletion();
            b.downWrite();
            bHeld.complete();
            a.downWrite();
        });
        assertThat(panicked.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(k.watchdog().reports()).first().satisfies(w ->
                assertThat(w.type()).isEqualTo(dev.reclaimlab.watchdog.WatchdogReport.Type.DEADLOCK));
        assertThat(k.lockdep().reports()).singleElement().satisfies(r -> {
            assertThat(r.type()).isEqualTo(LockdepReport.Type.CIRCULAR);
            assertThat(r.verdict().status()).isEqualTo(LockdepReport.Verdict.Status.CONFIRMED);
            assertThat(r.verdict().byWatchdog()).isTrue();
        });
    }
}
