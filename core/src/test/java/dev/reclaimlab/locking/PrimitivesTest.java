package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelPanic;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(30)
@ExtendWith(KernelExtension.class)
@Boot(memory = "8m", watchdog = false)
class PrimitivesTest {
    private static final LockClassKey KEY = new LockClassKey("test_lock");

    @Test
    void unlockingAMutexOwnedByAnotherTaskThrowsNamingLockClassAndOwner(Kernel k) throws Exception {
        Mutex m = new Mutex("sb->s_umount", KEY);
        Completion locked = new Completion("locked");
        Completion release = new Completion("release");
        Task owner = k.kthreadRun("owner", t -> {
            m.mutexLock();
            locked.complete();
            release.waitForCompletion();
            m.mutexUnlock();
        });
        locked.waitForCompletion();
        assertThatThrownBy(m::mutexUnlock).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("sb->s_umount").hasMessageContaining("test_lock")
                .hasMessageContaining("owned by " + owner);
        release.complete();
    }

    @Test
    void unlockingTwiceAndDestroyingAHeldLockThrow(Kernel k) {
        Mutex m = new Mutex("m", KEY);
        m.mutexLock();
        assertThatThrownBy(m::mutexDestroy).hasMessageContaining("held mutex m (test_lock)");
        m.mutexUnlock();
        assertThatThrownBy(m::mutexUnlock).hasMessageContaining("m (test_lock)")
                .hasMessageContaining("not locked");
        RwSemaphore s = new RwSemaphore("s", KEY);
        assertThatThrownBy(s::upRead).hasMessageContaining("not held for read");
        assertThatThrownBy(s::upWrite).hasMessageContaining("not held for write");
        SpinLock l = new SpinLock("l", KEY);
        assertThatThrownBy(l::spinUnlock).hasMessageContaining("l (test_lock)");
    }

    @Test
    void mutexExcludesAcrossTasks(Kernel k) throws Exception {
        Mutex m = new Mutex("m", KEY);
        int[] counter = new int[1];
        int tasks = 4;
        int rounds = 20_000;
        CountDownLatch done = new CountDownLatch(tasks);
        for (int i = 0; i < tasks; i++) {
            k.kthreadRun("inc" + i, t -> {
                for (int r = 0; r < rounds; r++) {
                    m.mutexLock();
                    counter[0]++;
                    m.mutexUnlock();
                }
                done.countDown();
            });
        }
        assertThat(done.await(20, TimeUnit.SECONDS)).isTrue();
        m.mutexLock();
        assertThat(counter[0]).isEqualTo(tasks * rounds);
        m.mutexUnlock();
    }

    @Test
    void readersShareAWriterWaitsForAllOfThem(Kernel k) throws Exception {
        RwSemaphore s = new RwSemaphore("iolock", KEY);
        Completion r1In = new Completion("r1_in");
        Completion r2In = new Completion("r2_in");
        Completion leave = new Completion("leave");
        Task r1 = k.kthreadRun("reader1", t -> {
            s.downRead();
            r1In.complete();
            leave.waitForCompletion();
            s.upRead();
        });
        Task r2 = k.kthreadRun("reader2", t -> {
            s.downRead();
            r2In.complete();
            leave.waitForCompletion();
            s.upRead();
        });
        r1In.waitForCompletion();
        r2In.waitForCompletion();
        assertThat(s.readerCount()).isEqualTo(2);
        assertThat(s.downWriteTrylock()).isFalse();
        CountDownLatch wrote = new CountDownLatch(1);
        Task w = k.kthreadRun("writer", t -> {
            s.downWrite();
            s.downgradeWrite();
            s.upRead();
            wrote.countDown();
        });
        WaitRecord.Snapshot snap = null;
        while (snap == null) {
            snap = w.waitRecord().snapshot();
            Thread.onSpinWait();
        }
        assertThat(snap.kind()).isEqualTo(WaitKind.RWSEM_WRITE);
        assertThat(snap.wakers().tasks()).containsExactlyInAnyOrder(r1, r2);
            assertThat(snap.wakers().mode()).isEqualTo(Wakers.Mode.ALL);
        leave.completeAll();
        assertThat(wrote.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(s.readerCount()).isZero();
    }

    @Test
    void completionBeforeWaitIsNotLostAndCompleteAllReleasesEveryone(Kernel k) throws Exception {
        Completion c = new Completion("c");
        c.complete();
        c.waitForCompletion();
        assertThat(c.tryWaitForCompletion()).isFalse();
        CountDownLatch out = new CountDownLatch(3);
        for (int i = 0; i < 3; i++) {
            k.kthreadRun("w" + i, t -> {
                c.waitForCompletion();
                out.countDown();
            });
        }
        c.completeAll();
        assertThat(out.await(10, TimeUnit.SECONDS)).isTrue();
        c.reinitCompletion();
        assertThat(c.completionDone()).isFalse();
    }

    @Test
    void waitEventReturnsOnceTheConditionHolds(Kernel k) throws Exception {
        WaitQueue wq = new WaitQueue("wq");
        AtomicInteger flag = new AtomicInteger();
        CountDownLatch woke = new CountDownLatch(1);
        Task waiter = k.kthreadRun("waiter", t -> {
            wq.waitEvent(() -> flag.get() == 1);
            woke.countDown();
        });
        wq.expectWaker(k.currentTask());
        while (!wq.waitqueueActive() && woke.getCount() > 0) {
            Thread.onSpinWait();
        }
        flag.set(1);
        wq.wakeUp();
        assertThat(woke.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(waiter.waitRecord().waiting()).isFalse();
    }

    @Test
    void panicUnwindsAMutexWaiterAndLeavesTheMutexConsistent(Kernel k) throws Exception {
        AtomicReference<Throwable> seen = new AtomicReference<>();
        CountDownLatch out = new CountDownLatch(1);
        Mutex m = new Mutex("m", KEY);
        m.mutexLock();
        Task w = k.kthreadRun("waiter", t -> {
            try {
                m.mutexLock();
            } catch (Throwable e) {
                seen.set(e);
                throw e;
            } finally {
                out.countDown();
            }
        });
        while (!w.waitRecord().waiting()) {
            Thread.onSpinWait();
        }
        k.panic("test");
        assertThat(out.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(seen.get()).isInstanceOf(KernelPanic.class);
        assertThat(w.waitRecord().waiting()).isFalse();
        m.mutexUnlock();
        assertThat(m.mutexTrylock()).isTrue();
        m.mutexUnlock();
    }

    @Test
    void sleepingUnderASpinlockIsABug(Kernel k) {
        SpinLock l = new SpinLock("l", KEY);
        Completion c = new Completion("c");
        l.spinLock();
        assertThatThrownBy(c::waitForCompletion).hasMessageContaining("BUG: sleeping function called from invalid context");
        l.spinUnlock();
    }
}
