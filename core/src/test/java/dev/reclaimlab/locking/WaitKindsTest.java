package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The kinds of sleep the one wait loop serves, and what each says to the watchdog. */
@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "8m", hungTaskTimeoutMillis = 60_000)
class WaitKindsTest {
    private static final LockClassKey KEY = new LockClassKey("waitkinds");
    private static final LockClassKey KEY_M = new LockClassKey("waitkinds_m");
    private static final Duration AWAIT = Duration.ofSeconds(20);

    @Test
    void mightSleepCatchesAnUncontendedSleepingAcquisitionUnderASpinlock(Kernel k) {
        SpinLock l = new SpinLock("l", KEY);
        Mutex m = new Mutex("m", KEY_M);
        RwSemaphore s = new RwSemaphore("s", KEY_M);
        Completion done = new Completion("done");
        done.complete();
        l.spinLock();
        assertThatThrownBy(m::mutexLock).hasMessageContaining("BUG: sleeping function called from invalid context");
        assertThatThrownBy(s::downRead).hasMessageContaining("BUG: sleeping function called from invalid context");
        assertThatThrownBy(done::waitForCompletion)
                .hasMessageContaining("BUG: sleeping function called from invalid context");
        l.spinUnlock();
        assertThat(m.mutexIsLocked()).isFalse();
        assertThat(s.readerCount()).isZero();
        assertThat(k.lockdep().reports()).isEmpty();
    }

    /** Forty readers, far more than a small slot table holds: every one is named, a stranger is refused. */
    @Test
    void everyReaderIsNamedAndUpReadFromATaskHoldingNothingIsRefused(Kernel k) {
        RwSemaphore s = new RwSemaphore("s", KEY);
        Completion leave = new Completion("leave");
        AtomicInteger in = new AtomicInteger();
        List<Task> readers = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            readers.add(k.kthreadRun("reader" + i, self -> {
                s.downRead();
                in.incrementAndGet();
                leave.waitForCompletion();
                s.upRead();
            }));
        }
        Await.until(() -> in.get() == 40, "forty readers in", AWAIT);
        assertThatThrownBy(s::upRead).hasMessageContaining("not held for read by it");
        assertThat(s.readerCount()).isEqualTo(40);
        Task w = k.kthreadRun("writer", self -> {
            s.downWrite();
            s.upWrite();
        });
        WaitRecord.Snapshot snap = Await.blocked(w, AWAIT);
        assertThat(snap.kind()).isEqualTo(WaitKind.RWSEM_WRITE);
        assertThat(snap.wakers().mode()).isEqualTo(Wakers.Mode.ALL);
        assertThat(snap.wakers().tasks()).containsExactlyInAnyOrderElementsOf(readers);
        leave.completeAll();
        Await.until(() -> w.state() == Task.TASK_DEAD, "the writer got and released the lock", AWAIT);
        assertThat(s.readerCount()).isZero();
        assertThat(s.writer()).isNull();
    }

    /** As Linux's rwsem: a reader arriving while a writer waits queues behind it, and waits for both. */
    @Test
    void aReaderQueuesBehindAWaitingWriterAndIsGrantedAfterIt(Kernel k) {
        RwSemaphore s = new RwSemaphore("s", KEY);
        Completion leave = new Completion("leave");
        AtomicLong order = new AtomicLong();
        long[] when = new long[2];
        Task r1 = k.kthreadRun("reader1", self -> {
            s.downRead();
            leave.waitForCompletion();
            s.upRead();
        });
        Await.until(() -> s.readerCount() == 1, "reader1 in", AWAIT);
        Task w = k.kthreadRun("writer", self -> {
            s.downWrite();
            when[0] = order.incrementAndGet();
            s.upWrite();
        });
        Await.blocked(w, AWAIT);
        Task r2 = k.kthreadRun("reader2", self -> {
            s.downRead();
            when[1] = order.incrementAndGet();
            s.upRead();
        });
        WaitRecord.Snapshot snap = Await.blocked(r2, AWAIT);
        assertThat(snap.kind()).isEqualTo(WaitKind.RWSEM_READ);
        assertThat(snap.wakers().mode()).isEqualTo(Wakers.Mode.ALL);
        assertThat(snap.wakers().tasks()).containsExactlyInAnyOrder(r1, w);
        assertThat(s.downReadTrylock()).as("a trylock does not pass a waiting writer either").isFalse();
        assertThat(s.waiters()).isEqualTo(2);
        leave.complete();
        Await.until(() -> r2.state() == Task.TASK_DEAD && w.state() == Task.TASK_DEAD, "both got the lock", AWAIT);
        assertThat(when).containsExactly(1, 2);
        assertThat(s.readerCount()).isZero();
    }

    /** wait_on_bit() and wait_on_bit_lock(): the record names the bit and who can clear it. */
    @Test
    void bitWaitsNameTheBitAndItsDeclaredWakerAndEndWhenItClears(Kernel k) {
        BitWaitTable table = new BitWaitTable(4);
        AtomicLong flags = new AtomicLong(1);
        Task[] clearer = new Task[1];
        BitWord word = new BitWord() {
            @Override
            public boolean testBit(int bit) {
                return (flags.get() & (1L << bit)) != 0;
            }

            @Override
            public boolean testAndSetBit(int bit) {
                return (flags.getAndUpdate(v -> v | (1L << bit)) & (1L << bit)) != 0;
            }

            @Override
            public String bitName(int bit) {
                return "TEST_BIT" + bit + " of the word";
            }

            @Override
            public void bitWakers(int bit, WakerSink out) {
                out.add(clearer[0]);
            }
        };
        clearer[0] = k.currentTask();
        AtomicInteger got = new AtomicInteger();
        Task waiter = k.kthreadRun("bitwaiter", self -> {
            got.set(table.waitOnBit(self, 7, word, 0, Task.TASK_KILLABLE, -1));
            got.addAndGet(10 * table.waitOnBitLock(self, 7, word, 0, Task.TASK_UNINTERRUPTIBLE, -1));
        });
        Await.until(() -> waiter.waitRecord().waiting(), "the waiter sleeps on the bit", AWAIT);
        WaitRecord.Snapshot snap = waiter.waitRecord().snapshot();
        assertThat(snap.kind()).isEqualTo(WaitKind.BIT);
        assertThat(snap.on().name()).isEqualTo("TEST_BIT0 of the word");
        assertThat(snap.killable()).isTrue();
        assertThat(snap.wakers().tasks()).containsExactly(k.currentTask());
        flags.set(0);
        table.wakeUpBit(7);
        Await.until(() -> waiter.state() == Task.TASK_DEAD, "the waiter took the bit", AWAIT);
        assertThat(got.get()).isEqualTo(Sleep.DONE + 10 * Sleep.DONE);
        assertThat(flags.get()).isEqualTo(1);
    }

    /** A timed wait records its deadline; the watchdog may never prove anything through it. */
    @Test
    void aTimedWaitRecordsItsDeadlineAndTimesOut(Kernel k) throws Exception {
        WaitQueue q = new WaitQueue("q").expectWaker(k.currentTask());
        CountDownLatch sleeping = new CountDownLatch(1);
        boolean[] result = {true};
        Task t = k.kthreadRun("timed", self -> {
            sleeping.countDown();
            result[0] = q.waitEventTimeout(() -> false, TimeUnit.MILLISECONDS.toNanos(300));
        });
        sleeping.await();
        Await.until(() -> t.waitRecord().waiting() || t.state() == Task.TASK_DEAD, "the wait", AWAIT);
        WaitRecord.Snapshot snap = t.waitRecord().snapshot();
        if (snap != null) {
            assertThat(snap.timed()).isTrue();
            assertThat(snap.deadlineNanos()).isGreaterThan(snap.sinceNanos());
        }
        Await.until(() -> t.state() == Task.TASK_DEAD, "the timeout", AWAIT);
        assertThat(result[0]).isFalse();
    }

    /** mutex_lock_killable(): a fatal signal ends the wait with -EINTR and the lock stays with its owner. */
    @Test
    void aFatalSignalEndsAKillableMutexWait(Kernel k) {
        Mutex m = new Mutex("m", KEY_M);
        m.mutexLock();
        AtomicInteger r = new AtomicInteger(1);
        Task t = k.kthreadRun("killable", self -> r.set(m.mutexLockKillable()));
        Await.until(() -> t.waitRecord().waiting(), "the killable wait", AWAIT);
        assertThat(t.waitRecord().snapshot().killable()).isTrue();
        t.sendFatalSignal();
        Await.until(() -> t.state() == Task.TASK_DEAD, "the killed task exited", AWAIT);
        assertThat(r.get()).isEqualTo(Sleep.KILLED);
        assertThat(m.owner()).isSameAs(k.currentTask());
        m.mutexUnlock();
    }
}
