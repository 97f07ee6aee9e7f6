package dev.reclaimlab.watchdog;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Completion;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.Mutex;
import dev.reclaimlab.locking.RwSemaphore;
import dev.reclaimlab.locking.Sleep;
import dev.reclaimlab.locking.SpinLock;
import dev.reclaimlab.locking.WaitQueue;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

/**
 * What the watchdog may call a proven deadlock (DESIGN.md rule 10), case by case: cycles that only look
 * closed must never be proven, and real ones must be, whatever primitive they run through.
 */
@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "8m", hungTaskScanMillis = ProofTest.SCAN_MILLIS, hungTaskTimeoutMillis = 60_000, hungTaskPanic = false)
class ProofTest {
    static final long SCAN_MILLIS = 50;
    private static final LockClassKey KEY_M = new LockClassKey("proof_m");
    private static final LockClassKey KEY_A = new LockClassKey("proof_a");
    private static final LockClassKey KEY_B = new LockClassKey("proof_b");
    private static final LockClassKey KEY_S = new LockClassKey("proof_s");
    private static final Duration AWAIT = Duration.ofSeconds(20);
    private static final long SLACK_MILLIS = 250;

    private static void awaitScans(Kernel k, int n) {
        long target = k.watchdog().scans() + n;
        Await.until(() -> k.watchdog().scans() >= target, n + " more watchdog scans", AWAIT);
    }

    /**
     * The review's case: a completion owed by several tasks (a bio on a queue any worker may take) is not
     * stuck while one of them is merely in a long timed sleep, though the others form a cycle with the waiter.
     */
    @Test
    void aWaitAnyOfSeveralCanEndIsNotStuckWhileOneOfThemSleepsOnATimer(Kernel k) throws Exception {
        Mutex m = new Mutex("m", KEY_M);
        Completion c = new Completion("bio");
        WaitQueue never = new WaitQueue("never");
        CountDownLatch holds = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(3);
        Task[] owedBy = new Task[2];
        Task t1 = k.kthreadRun("reader", self -> {
            m.mutexLock();
            holds.countDown();
            c.waitForCompletion();
            m.mutexUnlock();
            done.countDown();
        });
        owedBy[0] = k.kthreadRun("writer", self -> {
            awaitQuietly(holds);
            m.mutexLock();
            m.mutexUnlock();
            done.countDown();
        });
        owedBy[1] = k.kthreadRun("sleeper", self -> {
            never.waitEventTimeout(() -> false, TimeUnit.MILLISECONDS.toNanos(15 * SCAN_MILLIS));
            c.complete();
            done.countDown();
        });
        c.expectWakers(owedBy);
        Await.blocked(owedBy[0], AWAIT);
        Await.blocked(t1, AWAIT);
        assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(k.watchdog().reports()).isEmpty();
    }

    /** A cycle closed only by a wait with a timeout resolves itself when it fires: never proven. */
    @Test
    void aCycleThroughATimedWaitIsNeverAProvenDeadlock(Kernel k) throws Exception {
        Mutex m = new Mutex("m", KEY_M);
        Completion c = new Completion("reply");
        CountDownLatch holds = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(2);
        AtomicBoolean timedOut = new AtomicBoolean();
        Task[] other = new Task[1];
        Task t1 = k.kthreadRun("caller", self -> {
            m.mutexLock();
            holds.countDown();
            timedOut.set(!c.waitForCompletionTimeout(TimeUnit.MILLISECONDS.toNanos(20 * SCAN_MILLIS)));
            m.mutexUnlock();
            done.countDown();
        });
        other[0] = k.kthreadRun("server", self -> {
            awaitQuietly(holds);
            m.mutexLock();
            c.complete();
            m.mutexUnlock();
            done.countDown();
        });
        c.expectWaker(other[0]);
        Await.blocked(other[0], AWAIT);
        Await.blocked(t1, AWAIT);
        awaitScans(k, 5);
        assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(timedOut).isTrue();
        assertThat(k.watchdog().reports()).isEmpty();
    }

    /** Two tasks that back off with timed waits and never get both locks: a stall, not a deadlock. */
    @Test
    @Boot(memory = "8m", hungTaskScanMillis = 20, hungTaskTimeoutMillis = 300, hungTaskPanic = false)
    void tasksBackingOffWithTimedWaitsForEverAreAStall(Kernel k) throws Exception {
        Mutex a = new Mutex("a", KEY_A);
        Mutex b = new Mutex("b", KEY_B);
        AtomicLong progress = new AtomicLong();
        CountDownLatch stalled = new CountDownLatch(1);
        k.watchdog().registerProgress("both_locks_taken", progress::get);
        k.watchdog().addReportListener(r -> stalled.countDown());
        WaitQueue backoff = new WaitQueue("backoff");
        for (Mutex[] order : new Mutex[][] {{a, b}, {b, a}}) {
            k.kthreadRun("polite-" + order[0].name(), self -> {
                order[0].mutexLock();
                while (!self.kthreadShouldStop()) {
                    if (order[1].mutexTrylock()) {
                        progress.incrementAndGet();
                        order[1].mutexUnlock();
                    }
                    backoff.waitEventTimeout(self::kthreadShouldStop, TimeUnit.MILLISECONDS.toNanos(2));
                }
                order[0].mutexUnlock();
            });
        }
        assertThat(stalled.await(30, TimeUnit.SECONDS)).isTrue();
        WatchdogReport r = k.watchdog().reports().get(0);
        assertThat(r.type()).isEqualTo(WatchdogReport.Type.STALL);
        assertThat(r.stall().counter()).isEqualTo("both_locks_taken");
        assertThat(k.watchdog().reports()).noneMatch(x -> x.type() == WatchdogReport.Type.DEADLOCK);
    }

    /**
     * A writer waits for all of an rwsem's readers to leave: one reader stuck in a cycle with the writer
     * makes a real deadlock even while another reader is free to run (it only sleeps on a timer).
     */
    @Test
    void anRwsemWriterWaitsForAllItsReadersSoOneStuckReaderProvesTheDeadlock(Kernel k) throws Exception {
        Mutex m = new Mutex("m", KEY_M);
        RwSemaphore s = new RwSemaphore("s", KEY_S);
        WaitQueue never = new WaitQueue("never");
        CountDownLatch readersIn = new CountDownLatch(2);
        CountDownLatch writerQueued = new CountDownLatch(1);
        CountDownLatch reported = new CountDownLatch(1);
        k.watchdog().addReportListener(r -> reported.countDown());
        Task r1 = k.kthreadRun("reader1", self -> {
            s.downRead();
            readersIn.countDown();
            awaitQuietly(writerQueued);
            m.mutexLock();
        });
        k.kthreadRun("reader2", self -> {
            s.downRead();
            readersIn.countDown();
            never.waitEventTimeout(self::kthreadShouldStop, TimeUnit.SECONDS.toNanos(30));
            s.upRead();
        });
        Task w = k.kthreadRun("writer", self -> {
            awaitQuietly(readersIn);
            m.mutexLock();
            s.downWrite();
        });
        Await.blocked(w, AWAIT);
        writerQueued.countDown();
        assertThat(reported.await(30, TimeUnit.SECONDS)).isTrue();
        WatchdogReport r = k.watchdog().reports().get(0);
        assertThat(r.type()).isEqualTo(WatchdogReport.Type.DEADLOCK);
        assertThat(r.edges()).extracting(WaitEdge::from, WaitEdge::kind, WaitEdge::to).containsExactlyInAnyOrder(
                tuple(w.toString(), "rwsem-write", r1.toString()), tuple(r1.toString(), "mutex", w.toString()));
        assertThat(r.tasks()).filteredOn(t -> t.task().equals(w.toString())).singleElement()
                .satisfies(t -> assertThat(t.wakerMode()).isEqualTo("ALL"));
    }

    /** An ABBA on two spinlocks is proven within two scans, every time. */
    @RepeatedTest(3)
    void aSpinDeadlockIsProvenAsFastAsASleepingOne(Kernel k) throws Exception {
        SpinLock a = new SpinLock("a", KEY_A);
        SpinLock b = new SpinLock("b", KEY_B);
        AtomicInteger holding = new AtomicInteger();
        CountDownLatch reported = new CountDownLatch(1);
        k.watchdog().addReportListener(r -> reported.countDown());
        Task t1 = k.kthreadRun("spin-ab", self -> {
            a.spinLock();
            holding.incrementAndGet();
            while (holding.get() < 2) {
                Thread.onSpinWait();
            }
            b.spinLock();
        });
        Task t2 = k.kthreadRun("spin-ba", self -> {
            b.spinLock();
            holding.incrementAndGet();
            while (holding.get() < 2) {
                Thread.onSpinWait();
            }
            a.spinLock();
        });
        assertThat(reported.await(30, TimeUnit.SECONDS)).isTrue();
        WatchdogReport r = k.watchdog().reports().get(0);
        assertThat(r.type()).isEqualTo(WatchdogReport.Type.DEADLOCK);
        assertThat(r.taskNames()).containsExactlyInAnyOrder(t1.toString(), t2.toString());
        assertThat(r.edges()).extracting(WaitEdge::kind).containsOnly("spinlock");
        assertThat(TimeUnit.NANOSECONDS.toMillis(r.formedToDetectedNanos()))
                .isLessThanOrEqualTo(2 * SCAN_MILLIS + SLACK_MILLIS);
        k.panic("test over");
    }

    /** An idle kernel (kswapd, the flusher and khungtaskd waking now and then) is never a stall. */
    @Test
    @Boot(memory = "8m", hungTaskScanMillis = 10, hungTaskTimeoutMillis = 100, hungTaskPanic = false)
    void anIdleKernelIsNeverStalled(Kernel k) {
        k.watchdog().registerProgress("nothing_to_do", () -> 0);
        awaitScans(k, 200);
        assertThat(k.watchdog().reports()).isEmpty();
    }

    /** A task that dies while it holds an emulated CPU, or a spinlock, gives the CPU back; close() ends. */
    @Test
    void closeFinishesWhenTasksDiedHoldingACpuAndASpinlock(Kernel k) {
        SpinLock l = new SpinLock("l", KEY_A);
        Task t1 = k.kthreadRun("dies-in-spinlock", self -> {
            l.spinLock();
            throw new IllegalStateException("oops under a spinlock");
        });
        Task t2 = k.kthreadRun("dies-on-cpu", self -> {
            self.getCpu();
            throw new IllegalStateException("oops with preemption off");
        });
        Await.until(() -> k.oopses().size() == 2, "both tasks oopsed", AWAIT);
        Await.until(() -> t1.state() == Task.TASK_DEAD && t2.state() == Task.TASK_DEAD, "both died", AWAIT);
        assertThat(k.dmesg()).contains("exited with preempt_count 1");
        k.currentTask().getCpu();
        k.currentTask().putCpu();
        k.close();
        assertThat(k.isClosed()).isTrue();
    }

    /**
     * A killable wait closes a proven cycle like any other, but the kernel's own hung-task check skips it
     * (state == TASK_UNINTERRUPTIBLE); a D-state waiter nobody owes is reported hung; a fatal signal ends
     * the killable wait.
     */
    @Test
    @Boot(memory = "8m", hungTaskScanMillis = 50, hungTaskTimeoutMillis = 400, hungTaskPanic = false)
    void aKillableWaitIsProvenButTheKernelsHungTaskCheckSkipsIt(Kernel k) throws Exception {
        Completion nobody = new Completion("nobody");
        Completion nobodyEither = new Completion("nobody either");
        AtomicInteger killed = new AtomicInteger(1);
        Task killable = k.kthreadRun("killable", self -> killed.set(nobody.waitForCompletionKillable()));
        Task dState = k.kthreadRun("d-state", self -> nobodyEither.waitForCompletion());
        Mutex m = new Mutex("m", KEY_M);
        Completion c = new Completion("commit");
        CountDownLatch holds = new CountDownLatch(1);
        Task[] server = new Task[1];
        Task client = k.kthreadRun("client", self -> {
            m.mutexLock();
            holds.countDown();
            c.waitForCompletionKillable();
        });
        server[0] = k.kthreadRun("server", self -> {
            awaitQuietly(holds);
            m.mutexLock();
        });
        c.expectWaker(server[0]);
        Await.until(() -> k.watchdog().reports().stream().anyMatch(r -> r.type() == WatchdogReport.Type.DEADLOCK)
                && k.watchdog().reports().stream().anyMatch(r -> r.type() == WatchdogReport.Type.HUNG_TASK),
                "a proven deadlock and a hung task", AWAIT);
        awaitScans(k, 4);
        WatchdogReport deadlock = k.watchdog().reports().stream()
                .filter(r -> r.type() == WatchdogReport.Type.DEADLOCK).findFirst().orElseThrow();
        assertThat(deadlock.taskNames()).containsExactlyInAnyOrder(client.toString(), server[0].toString());
        assertThat(deadlock.tasks()).filteredOn(t -> t.task().equals(client.toString())).singleElement()
                .satisfies(t -> assertThat(t.killable()).isTrue());
        assertThat(k.watchdog().reports()).filteredOn(r -> r.type() == WatchdogReport.Type.HUNG_TASK)
                .extracting(r -> r.tasks().get(0).task()).containsExactly(dState.toString());
        assertThat(killable.waitRecord().waiting()).isTrue();
        killable.sendFatalSignal();
        Await.until(() -> killable.state() == Task.TASK_DEAD, "the killed task exited", AWAIT);
        assertThat(killed.get()).isEqualTo(Sleep.KILLED);
        k.panic("test over");
    }

    private static void awaitQuietly(CountDownLatch l) {
        try {
            l.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
