package dev.reclaimlab.watchdog;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Completion;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.LockdepReport;
import dev.reclaimlab.locking.Mutex;
import dev.reclaimlab.locking.WaitRecord;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "8m", hungTaskScanMillis = WatchdogTest.SCAN_MILLIS, hungTaskTimeoutMillis = 60_000)
class WatchdogTest {
    private static final LockClassKey LOCK_A = new LockClassKey("lock_a");
    private static final LockClassKey LOCK_B = new LockClassKey("lock_b");
    static final long SCAN_MILLIS = 100;

    private static boolean waitsOn(Task t, Mutex m) {
        WaitRecord.Snapshot w = t.waitRecord().snapshot();
        return w != null && w.on() == m;
    }

    @Test
    void watchdogReportsAbbaCycleAndPanics(Kernel k) throws Exception {
        CountDownLatch panicked = new CountDownLatch(1);
        AtomicLong scansAtPanic = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        k.addPanicNotifier(() -> {
            scansAtPanic.set(k.watchdog().scans());
            panicked.countDown();
        });
        Mutex a = new Mutex("a", LOCK_A);
        Mutex b = new Mutex("b", LOCK_B);
        Completion aHolds = new Completion("a_holds");
        Completion bHolds = new Completion("b_holds");
        Task ta = k.kthreadRun("abba-a", t -> {
            a.mutexLock();
            aHolds.complete();
            bHolds.waitForCompletion();
            b.mutexLock();
        });
        Task tb = k.kthreadRun("abba-b", t -> {
            b.mutexLock();
            bHolds.complete();
            aHolds.waitForCompletion();
            a.mutexLock();
        });
        threads.add(ta.thread());
        threads.add(tb.thread());
        threads.add(k.watchdog().khungtaskd().thread());

        Await.until(() -> waitsOn(ta, b) && waitsOn(tb, a), "abba-a and abba-b blocked on each other's mutex",
                Duration.ofSeconds(20));
        long formedBy = k.watchdog().scans();
        assertThat(panicked.await(30, TimeUnit.SECONDS)).isTrue();
        WatchdogReport r = k.watchdog().reports().get(0);
        assertThat(r.type()).isEqualTo(WatchdogReport.Type.DEADLOCK);
        assertThat(r.taskNames()).containsExactlyInAnyOrder(ta.toString(), tb.toString());
        // Within two scans of the cycle forming (the one under way then, at most, and the next), counted in
        // scans: a loaded machine stretches milliseconds, not the proof's rule.
        assertThat(scansAtPanic.get() - formedBy).isBetween(0L, 2L);
        assertThat(r.text()).contains("proven deadlock", "mutex a (class lock_a)", "mutex b (class lock_b)",
                "(lock_a){+.+...}, instance a", "Call Trace:", "lambda$watchdogReportsAbbaCycleAndPanics",
                "*** DEADLOCK ***");
        assertThat(r.edges()).extracting(WaitEdge::from, WaitEdge::to).containsExactlyInAnyOrder(
                org.assertj.core.groups.Tuple.tuple(ta.toString(), tb.toString()),
                org.assertj.core.groups.Tuple.tuple(tb.toString(), ta.toString()));
        assertThat(r.formedToDetectedNanos()).isPositive();
        assertThat(k.panicReason()).contains("proven deadlock");
        assertThat(k.lockdep().reports()).extracting(LockdepReport::type)
                .containsExactly(LockdepReport.Type.CIRCULAR);
        k.close();
        assertThat(k.isClosed()).isTrue();
        for (Thread th : threads) {
            assertThat(th.isAlive()).as(th.getName()).isFalse();
        }
        assertThat(k.oopses()).isEmpty();
    }

    @Test
    void sequentialAbbaIsReportedByLockdepButNotByWatchdog(Kernel k) {
        Task me = k.currentTask();
        Mutex a = new Mutex("a", LOCK_A);
        Mutex b = new Mutex("b", LOCK_B);
        Completion firstDone = new Completion("first_done");
        Completion secondDone = new Completion("second_done");
        k.kthreadRun("first", t -> {
            a.mutexLock();
            b.mutexLock();
            b.mutexUnlock();
            a.mutexUnlock();
            firstDone.complete();
        });
        firstDone.expectWaker(me);
        firstDone.waitForCompletion();
        k.kthreadRun("second", t -> {
            b.mutexLock();
            a.mutexLock();
            a.mutexUnlock();
            b.mutexUnlock();
            secondDone.complete();
        });
        secondDone.waitForCompletion();

        assertThat(k.lockdep().reports()).hasSize(1);
        LockdepReport r = k.lockdep().reports().get(0);
        assertThat(r.type()).isEqualTo(LockdepReport.Type.CIRCULAR);
        assertThat(r.title()).isEqualTo("possible circular locking dependency detected");
        assertThat(r.chain()).extracting(LockdepReport.ChainEntry::index, LockdepReport.ChainEntry::className)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(1, "lock_b"),
                        org.assertj.core.groups.Tuple.tuple(0, "lock_a"));
        assertThat(r.comm()).isEqualTo("second");
        assertThat(r.heldLocks()).extracting(LockdepReport.HeldLock::className).containsExactly("lock_b");
        assertThat(r.text()).contains("[ INFO: possible circular locking dependency detected ]",
                "the existing dependency chain (in reverse order) is:", "1 lock held by second/");
        assertThat(r.acquiring().className()).isEqualTo("lock_a");
        assertThat(r.holding().className()).isEqualTo("lock_b");
        assertThat(k.watchdog().checkHungUninterruptibleTasks()).isEmpty();
        assertThat(k.watchdog().reports()).isEmpty();
        assertThat(k.panicked()).isFalse();
    }

    @Test
    void watchdogNamesBothTasksAndTheEdgeThroughACompletion(Kernel k) throws Exception {
        CountDownLatch reported = new CountDownLatch(1);
        k.watchdog().addReportListener(r -> reported.countDown());
        Mutex m = new Mutex("m", LOCK_A);
        Completion c = new Completion("c");
        Completion aHolds = new Completion("a_holds");
        Task ta = k.kthreadRun("holder", t -> {
            m.mutexLock();
            aHolds.complete();
            c.waitForCompletion();
            m.mutexUnlock();
        });
        Task tb = k.kthreadRun("ower", t -> {
            c.expectWaker(t);
            aHolds.waitForCompletion();
            m.mutexLock();
            c.complete();
            m.mutexUnlock();
        });
        assertThat(reported.await(30, TimeUnit.SECONDS)).isTrue();
        WatchdogReport r = k.watchdog().reports().get(0);
        assertThat(r.type()).isEqualTo(WatchdogReport.Type.DEADLOCK);
        assertThat(r.taskNames()).containsExactlyInAnyOrder(ta.toString(), tb.toString());
        assertThat(r.text()).contains(ta + " --[completion c]--> " + tb, tb + " --[mutex m (class lock_a)]--> " + ta);
        assertThat(r.edges()).extracting(WaitEdge::kind).containsExactlyInAnyOrder("completion", "mutex");
    }

    @Test
    @Boot(memory = "8m", hungTaskScanMillis = SCAN_MILLIS, hungTaskTimeoutMillis = 300)
    void taskWaitingOnAnUndeclaredCompletionIsHungNotDeadlocked(Kernel k) throws Exception {
        CountDownLatch panicked = new CountDownLatch(1);
        k.addPanicNotifier(panicked::countDown);
        Mutex m = new Mutex("m", LOCK_A);
        Completion never = new Completion("never");
        Task t = k.kthreadRun("waiter", self -> {
            m.mutexLock();
            never.waitForCompletion();
        });
        assertThat(panicked.await(30, TimeUnit.SECONDS)).isTrue();
        WatchdogReport r = k.watchdog().reports().get(0);
        assertThat(r.type()).isEqualTo(WatchdogReport.Type.HUNG_TASK);
        assertThat(r.text()).startsWith("INFO: task waiter:" + t.pid() + " blocked for more than 300 ms.")
                .contains("completion never", "(nobody declared: the waker is unknown)",
                        "1 lock held by waiter/" + t.pid() + ":", "(lock_a){+.+...}", "Call Trace:");
        assertThat(r.tasks()).singleElement().satisfies(b -> {
            assertThat(b.wakerUnknown()).isTrue();
            assertThat(b.heldLocks()).hasSize(1);
        });
    }

    @Test
    @Boot(memory = "8m", hungTaskScanMillis = SCAN_MILLIS, hungTaskTimeoutMillis = 60_000, hungTaskPanic = false,
            watchdog = false)
    void showBlockedTasksListsEveryBlockedTaskWithItsWait(Kernel k) throws Exception {
        Task me = k.currentTask();
        Completion gate = new Completion("gate").expectWaker(me);
        Completion started = new Completion("started");
        Task t = k.kthreadRun("sleeper", self -> {
            started.complete();
            gate.waitForCompletion();
        });
        started.waitForCompletion();
        String out = "";
        while (!out.contains("sleeper")) {
            out = k.watchdog().showBlockedTasks();
            Thread.onSpinWait();
        }
        assertThat(out).contains("sysrq: Show Blocked State", "task:sleeper state:D pid:" + t.pid(),
                "completion gate", "can end the wait: [" + me + "]");
        gate.complete();
    }

    @Test
    @Boot(memory = "8m", watchdog = false, hungTaskPanic = false, hungTaskTimeoutMillis = 60_000)
    void aWaiterWithOneWakerStillRunnableIsNotADeadlockEvenInsideACycle(Kernel k) throws Exception {
        Completion cDone = new Completion("c_done");
        Completion xDone = new Completion("x_done");
        dev.reclaimlab.locking.WaitQueue idle = new dev.reclaimlab.locking.WaitQueue("y_idle");
        java.util.concurrent.atomic.AtomicBoolean go = new java.util.concurrent.atomic.AtomicBoolean();
        Task y = k.kthreadRun("any-worker-y", t -> {
            idle.waitEventInterruptibleTimeout(go::get, -1);
            cDone.complete();
        });
        Task c = k.kthreadRun("waiter-c", t -> {
            cDone.waitForCompletion();
            xDone.complete();
        });
        Task x = k.kthreadRun("worker-x", t -> xDone.waitForCompletion());
        cDone.expectWakers(x, y);
        xDone.expectWaker(c);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!(c.waitRecord().waiting() && x.waitRecord().waiting() && y.waitRecord().waiting())) {
            assertThat(System.nanoTime()).isLessThan(deadline);
            Thread.onSpinWait();
        }
        // c -> {x, y} and x -> c form a cycle, but y is idle, not blocked: it can still end c's wait.
        k.watchdog().checkHungUninterruptibleTasks();
        assertThat(k.watchdog().checkHungUninterruptibleTasks()).isEmpty();
        go.set(true);
        idle.wakeUp();
        x.thread().join(10_000);
        assertThat(x.thread().isAlive()).isFalse();
    }

    /**
     * check_hung_task() as the booted release prints it: 4.3 the configured timeout, a saved-PC column and
     * the task's held locks; 5.3 the measured seconds, no PC column, and all locks once after the scan.
     */
    @ParameterizedTest
    @ValueSource(strings = {"4.3", "5.3"})
    void theHungTaskMessageIsTheReleasesOwn(String release, Kernels kernels) throws Exception {
        Kernel k = kernels.boot(b -> b.version(KernelVersion.parse(release)).hungTaskTimeoutMillis(1_000)
                .hungTaskScanMillis(50));
        CountDownLatch reported = new CountDownLatch(1);
        k.watchdog().addReportListener(r -> reported.countDown());
        Completion never = new Completion("never");
        Task t = k.kthreadRun("stuck", self -> never.waitForCompletion());
        assertThat(reported.await(30, TimeUnit.SECONDS)).isTrue();
        WatchdogReport r = k.watchdog().reports().get(0);
        assertThat(r.kernelVersion()).isEqualTo(release);
        String[] lines = r.text().split("\n");
        assertThat(lines[0]).startsWith("INFO: task stuck:" + t.pid() + " blocked for more than ").endsWith(" seconds.");
        assertThat(lines[1]).isEqualTo("      Not tainted " + release + ".0 #1");
        assertThat(lines[2]).isEqualTo("\"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.");
        String pc = " 0000000000000000 ";
        if (release.equals("4.3")) {
            assertThat(lines[0]).endsWith("blocked for more than 1 seconds.");
            assertThat(lines[3]).startsWith(String.format("%-15.15s D%s", "stuck", pc));
            assertThat(r.text()).doesNotContain("Showing all locks held in the system:");
        } else {
            assertThat(lines[3]).startsWith(String.format("%-15.15s D ", "stuck")).doesNotContain(pc);
            assertThat(r.text()).contains("Showing all locks held in the system:", "no locks held by stuck/" + t.pid());
        }
    }
}
