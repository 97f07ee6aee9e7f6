package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.locking.LockdepReport.Verdict.Status;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * reclaimlab's verdicts, in the shape of seed 002: lockdep reports one ILOCK class held above reclaim and
 * taken below it; the verdict asks whether one inode's ILOCK was. Both reclaim schemes, 4.3 and 5.3.
 */
@Timeout(30)
@ExtendWith(KernelExtension.class)
@Boot(memory = "8m", watchdog = false)
class LockdepVerdictTest {
    private static final LockClassKey ILOCK = new LockClassKey("&xfs_dir_ilock_class");
    private static final LockClassKey A = new LockClassKey("A");

    /** readdir: the ILOCK held shared across an allocation that may enter fs reclaim. */
    private static void above(Kernel k, RwSemaphore ilock) {
        ilock.downRead();
        k.lockdep().reclaimAllocHook(k.currentTask(), Gfp.GFP_KERNEL);
        ilock.upRead();
    }

    /** xfs_reclaim_inode() in direct reclaim: the ILOCK taken exclusive. */
    private static void below(Kernel k, RwSemaphore ilock) {
        Task t = k.currentTask();
        k.lockdep().reclaimEnter(t, Gfp.GFP_KERNEL);
        int saved = t.flags();
        t.setFlags(saved | TaskFlags.PF_MEMALLOC);
        ilock.downWrite();
        ilock.upWrite();
        t.setFlags(saved);
        k.lockdep().reclaimExit(t, Gfp.GFP_KERNEL);
    }

    private static Kernel boot(Kernels kernels, String version) {
        return kernels.boot(b -> b.version(KernelVersion.parse(version)));
    }

    @ParameterizedTest(name = "linux-{0}")
    @ValueSource(strings = {"4.3", "5.3"})
    void oneInstanceOnlyAboveReclaimAndAnotherOnlyBelowIsUnconfirmed(String version, Kernels kernels) {
        Kernel k = boot(kernels, version);
        RwSemaphore referenced = new RwSemaphore("dp->i_lock", ILOCK);
        RwSemaphore unreferenced = new RwSemaphore("victim->i_lock", ILOCK);
        for (int i = 0; i < 3; i++) {
            above(k, referenced);
            below(k, unreferenced);
        }
        assertThat(k.lockdep().reports()).singleElement().satisfies(r -> {
            assertThat(r.verdict().status()).isEqualTo(Status.UNCONFIRMED);
            assertThat(r.verdict().byWatchdog()).isFalse();
            assertThat(r.verdict().classes()).singleElement().satisfies(c -> {
                assertThat(c.className()).isEqualTo("&xfs_dir_ilock_class");
                assertThat(c.heldSide()).isEqualTo("held across a reclaim-capable allocation");
                assertThat(c.takenSide()).isEqualTo("taken in reclaim");
                assertThat(c.held()).isEqualTo(1);
                assertThat(c.taken()).isEqualTo(1);
                assertThat(c.both()).isZero();
                assertThat(c.incomplete()).isFalse();
            });
            assertThat(r.text()).contains("---- reclaimlab verdict (not kernel output) ----\nUNCONFIRMED");
        });
    }

    @ParameterizedTest(name = "linux-{0}")
    @ValueSource(strings = {"4.3", "5.3"})
    void theSameInstanceOnBothSidesIsConfirmed(String version, Kernels kernels) {
        Kernel k = boot(kernels, version);
        RwSemaphore ilock = new RwSemaphore("ip->i_lock", ILOCK);
        above(k, ilock);
        below(k, ilock);
        assertThat(k.lockdep().reports()).singleElement().satisfies(r -> {
            assertThat(r.verdict().status()).isEqualTo(Status.CONFIRMED);
            assertThat(r.verdict().classes()).singleElement().satisfies(c -> assertThat(c.both()).isEqualTo(1));
        });
    }

    @ParameterizedTest(name = "linux-{0}")
    @ValueSource(strings = {"4.3", "5.3"})
    void aVerdictIsReEvaluatedAsTheRunGoesOn(String version, Kernels kernels) {
        Kernel k = boot(kernels, version);
        RwSemaphore referenced = new RwSemaphore("dp->i_lock", ILOCK);
        RwSemaphore other = new RwSemaphore("victim->i_lock", ILOCK);
        above(k, referenced);
        below(k, other);
        assertThat(k.lockdep().reports().get(0).verdict().status()).isEqualTo(Status.UNCONFIRMED);
        below(k, referenced);
        assertThat(k.lockdep().reports().get(0).verdict().status()).as("reclaim took a referenced inode")
                .isEqualTo(Status.CONFIRMED);
    }

    /** An ownership change (the inode became reclaimable) starts a new instance: earlier uses do not meet later ones. */
    @ParameterizedTest(name = "linux-{0}")
    @ValueSource(strings = {"4.3", "5.3"})
    void usesBeforeAndAfterAnOwnershipChangeAreDifferentInstances(String version, Kernels kernels) {
        Kernel k = boot(kernels, version);
        RwSemaphore ilock = new RwSemaphore("ip->i_lock", ILOCK);
        above(k, ilock);
        ilock.verdictNewInstance();
        below(k, ilock);
        assertThat(k.lockdep().reports().get(0).verdict().status()).isEqualTo(Status.UNCONFIRMED);
    }

    @Test
    void beyondTheBudgetUsesBeforeTheReportAreCountedAsIncomplete(Kernel k) {
        for (int i = 0; i < InstanceSet.BUDGET + 10; i++) {
            above(k, new RwSemaphore("ip" + i + "->i_lock", ILOCK));
        }
        below(k, new RwSemaphore("victim->i_lock", ILOCK));
        LockdepReport.ClassVerdict c = k.lockdep().reports().get(0).verdict().classes().get(0);
        assertThat(c.held()).isEqualTo(InstanceSet.BUDGET);
        assertThat(c.incomplete()).isTrue();
        for (int i = 0; i < 5; i++) {
            above(k, new RwSemaphore("late" + i + "->i_lock", ILOCK));
        }
        assertThat(k.lockdep().reports().get(0).verdict().classes().get(0).held())
                .as("once a report watches the class, every instance counts").isEqualTo(InstanceSet.BUDGET + 5);
    }

    /** i_mutex-like parent -> child nesting without annotation: recursive locking, but instances in one order. */
    @Test
    void aConsistentOrderOfInstancesOfOneClassIsUnconfirmedAnAbbaIsConfirmed(Kernel k) {
        Mutex x = new Mutex("x", A);
        Mutex y = new Mutex("y", A);
        Mutex z = new Mutex("z", A);
        nest(x, y);
        nest(y, z);
        LockdepReport r = k.lockdep().reports().get(0);
        assertThat(r.type()).isEqualTo(LockdepReport.Type.RECURSIVE);
        assertThat(r.verdict().status()).as("x before y before z").isEqualTo(Status.UNCONFIRMED);
        nest(z, x);
        assertThat(k.lockdep().reports().get(0).verdict().status()).as("x, y, z, x").isEqualTo(Status.CONFIRMED);
    }

    private static void nest(Mutex outer, Mutex inner) {
        outer.mutexLock();
        inner.mutexLock();
        inner.mutexUnlock();
        outer.mutexUnlock();
    }

    @Test
    void verdictsCanBeSwitchedOff(Kernels kernels) {
        Kernel k = kernels.boot(b -> b.with(Lockdep.LOCKDEP_NO_VERDICTS));
        RwSemaphore ilock = new RwSemaphore("ip->i_lock", ILOCK);
        above(k, ilock);
        below(k, ilock);
        assertThat(k.lockdep().verdictsEnabled()).isFalse();
        assertThat(k.lockdep().reports()).singleElement().satisfies(r -> {
            assertThat(r.verdict()).isNull();
            assertThat(r.text()).doesNotContain("reclaimlab verdict");
        });
    }
}
