package dev.reclaimlab.kernel;

import dev.reclaimlab.locking.Completion;
import dev.reclaimlab.locking.WaitRecord;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.watchdog.BlockedTask;
import dev.reclaimlab.watchdog.WatchdogReport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.reclaimlab.kernel.Workqueue.WQ_HIGHPRI;
import static dev.reclaimlab.kernel.Workqueue.WQ_UNBOUND;
import static dev.reclaimlab.kernel.WorkqueueTest.BLOCKED;
import static dev.reclaimlab.kernel.WorkqueueTest.KLOOPD_FLAGS;
import static dev.reclaimlab.kernel.WorkqueueTest.gated;
import static org.assertj.core.api.Assertions.assertThat;

/** Worker pools as 4.3 runs them: names, on-demand workers, concurrency management, max_active, idling out. */
@Timeout(30)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m")
class WorkerPoolTest {
    private static List<String> comms(Task[] ts) {
        List<String> out = new ArrayList<>();
        for (Task t : ts) {
            out.add(t.comm());
        }
        return out;
    }

    private static Set<Task> ranOn(Workqueue wq, int n, Completion gate) throws InterruptedException {
        Set<Task> on = ConcurrentHashMap.newKeySet();
        CountDownLatch started = new CountDownLatch(n);
        for (int i = 0; i < n; i++) {
            wq.queueWork(new WorkStruct("loop_queue_read_work", () -> {
                on.add(Task.current());
                started.countDown();
                gate.waitForCompletion();
            }));
        }
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        return on;
    }

    @Test
    void workersAreNamedAsTheKernelNamesThemAndTheRescuerAfterItsQueue(Kernel k) {
        // 2 CPUs: per-CPU pools 0-3, the standard unbound pool 4 (events_unbound's), then the highpri one.
        Workqueue bound = Workqueue.allocWorkqueue(k, "xfs-cil/loop1", Workqueue.WQ_MEM_RECLAIM, 0);
        Workqueue boundHi = Workqueue.allocWorkqueue(k, "xfs-log/loop1", Workqueue.WQ_MEM_RECLAIM | WQ_HIGHPRI, 0);
        Workqueue unbound = Workqueue.allocWorkqueue(k, "writeback", WQ_UNBOUND, 0);
        Workqueue kloopd = Workqueue.allocWorkqueue(k, "kloopd1", KLOOPD_FLAGS, 16);
        assertThat(comms(bound.workers())).containsExactlyInAnyOrder("kworker/0:0", "kworker/1:0", "xfs-cil/loop1");
        assertThat(comms(boundHi.workers())).containsExactlyInAnyOrder("kworker/0:0H", "kworker/1:0H", "xfs-log/loop1");
        assertThat(comms(unbound.workers())).containsExactly("kworker/u4:0");
        assertThat(comms(kloopd.workers())).containsExactlyInAnyOrder("kworker/u5:0", "kloopd1");
        assertThat(kloopd.rescuer().comm()).isEqualTo("kloopd1");
        assertThat(unbound.rescuer()).isNull();
        Workqueue other = Workqueue.allocWorkqueue(k, "kloopd2", KLOOPD_FLAGS, 16);
        assertThat(comms(other.workers())).as("equal attributes share the pool").contains("kworker/u5:0");
    }

    @Test
    void aWorkerStartsOnDemandSoAThirdWorkRunsWhileTwoAreBlocked(Kernel k) throws Exception {
        Task me = k.currentTask();
        Workqueue wq = Workqueue.allocWorkqueue(k, "kloopd1", KLOOPD_FLAGS, 16);
        Completion gate = new Completion("gate").expectWaker(me);
        Set<Task> blocked = ranOn(wq, 2, gate);
        assertThat(blocked).hasSize(2);
        CountDownLatch third = new CountDownLatch(1);
        Task[] thirdOn = new Task[1];
        wq.queueWork(new WorkStruct("loop_queue_write_work", () -> {
            thirdOn[0] = Task.current();
            third.countDown();
        }));
        assertThat(third.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(blocked).doesNotContain(thirdOn[0]);
        assertThat(thirdOn[0].comm()).matches("kworker/u5:\\d+");
        WorkerPool pool = kloopdPool(wq);
        Await.until(() -> pool.nrIdle > 0, "a pool keeps an idle worker ready", BLOCKED);
        gate.completeAll();
        wq.drainWorkqueue();
    }

    private static WorkerPool kloopdPool(Workqueue wq) {
        for (Task t : wq.workers()) {
            Worker w = t.wqWorker();
            if (w != null && w.rescueWq == null) {
                return w.pool;
            }
        }
        throw new AssertionError("no pool worker in " + wq);
    }

    @Test
    void maxActiveHoldsWorksOnTheDelayedListOwedByTheWorkersRunningTheActiveOnes(Kernel k) throws Exception {
        Task me = k.currentTask();
        Workqueue wq = Workqueue.allocWorkqueue(k, "kloopd1", KLOOPD_FLAGS, 2);
        Completion gateA = new Completion("gate a").expectWaker(me);
        Completion gateB = new Completion("gate b").expectWaker(me);
        CountDownLatch started = new CountDownLatch(2);
        AtomicInteger runs = new AtomicInteger();
        WorkStruct a = gated("a", gateA, started, runs);
        WorkStruct b = gated("b", gateB, started, runs);
        wq.queueWork(a);
        wq.queueWork(b);
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        CountDownLatch cRan = new CountDownLatch(1);
        WorkStruct c = new WorkStruct("c", cRan::countDown);
        wq.queueWork(c);
        assertThat(c.workDelayed()).isTrue();
        Task flusher = k.kthreadRun("flusher", t -> Workqueue.flushWork(c));
        WaitRecord.Snapshot s = Await.blocked(flusher, BLOCKED);
        assertThat(s.wakers().tasks()).containsExactlyInAnyOrder(a.runningOn(), b.runningOn());
        assertThat(cRan.getCount()).isEqualTo(1);
        gateA.completeAll();
        assertThat(cRan.await(10, TimeUnit.SECONDS)).as("a's end activates c").isTrue();
        assertThat(b.runningOn()).isNotNull();
        gateB.completeAll();
        wq.drainWorkqueue();
    }

    @Test
    void aPerCpuPoolRunsAnotherWorkWhenItsRunningWorkerSleeps(Kernel k) throws Exception {
        Task me = k.currentTask();
        Workqueue wq = Workqueue.allocWorkqueue(k, "events", 0, 0);
        Completion gate = new Completion("gate").expectWaker(me);
        CountDownLatch started = new CountDownLatch(1);
        WorkStruct sleeper = gated("sleeper", gate, started, new AtomicInteger());
        // queue_work_on(): a preemptible test task may change CPUs between two plain queue_work()s.
        wq.queueWorkOn(1, sleeper);
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        Await.blocked(sleeper.runningOn(), BLOCKED);
        // The sleeper left nr_running: the next work wakes the idle worker at once.
        CountDownLatch ran = new CountDownLatch(1);
        Task[] on = new Task[1];
        wq.queueWorkOn(1, new WorkStruct("next", () -> {
            on[0] = Task.current();
            ran.countDown();
        }));
        assertThat(ran.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(on[0]).isNotSameAs(sleeper.runningOn());
        assertThat(on[0].wqWorker().pool).as("the same per-CPU pool").isSameAs(sleeper.runningOn().wqWorker().pool);
        assertThat(on[0].wqWorker().pool.id()).as("CPU1's normal pool").isEqualTo(2);
        gate.completeAll();
        wq.drainWorkqueue();
    }

    @Test
    void aBoundWorkerWaitsForItsOwnCpuRatherThanMigrating(Kernel k) throws Exception {
        Workqueue wq = Workqueue.allocWorkqueue(k, "events", 0, 0);
        AtomicBoolean release = new AtomicBoolean();
        CountDownLatch holding = new CountDownLatch(1);
        k.kthreadRun("cpu0-holder", t -> t.runOnCpu(0, () -> {
            holding.countDown();
            while (!release.get()) {
                Thread.onSpinWait();
            }
        }));
        int[] gotCpu = {-1};
        CountDownLatch ran = new CountDownLatch(1);
        try {
            assertThat(holding.await(10, TimeUnit.SECONDS)).isTrue();
            WorkStruct w = new WorkStruct("vmstat_update", () -> {
                Task t = Task.current();
                gotCpu[0] = t.getCpu();
                t.putCpu();
                ran.countDown();
            });
            wq.queueWorkOn(0, w);
            WorkerPool pool = w.pwq.pool();
            // kworker/0:N takes the pool lock, and with it CPU0, which the holder keeps: it must wait.
            Await.until(() -> Arrays.stream(pool.workersView()).anyMatch(x -> {
                WaitRecord.Snapshot s = x.task().waitRecord().snapshot();
                return s != null && s.on().name().equals("CPU0");
            }), "a CPU0 worker waits for CPU0", BLOCKED);
            assertThat(ran.getCount()).isEqualTo(1);
        } finally {
            release.set(true);
        }
        assertThat(ran.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(gotCpu[0]).as("get_cpu() in a bound worker").isZero();
        wq.drainWorkqueue();
    }

    @Test
    void idleWorkersBeyondTheRatioDieAfterTheIdleTimeout(Kernel k) throws Exception {
        Task me = k.currentTask();
        k.workqueues().idleWorkerTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(100);
        Workqueue wq = Workqueue.allocWorkqueue(k, "kloopd1", KLOOPD_FLAGS, 16);
        Completion gate = new Completion("gate").expectWaker(me);
        Set<Task> busy = ranOn(wq, 6, gate);
        WorkerPool pool = kloopdPool(wq);
        assertThat(pool.nrWorkers).isGreaterThanOrEqualTo(7);
        gate.completeAll();
        wq.drainWorkqueue();
        Await.until(() -> pool.nrWorkers == 2, "idle workers beyond two die", BLOCKED);
        assertThat(pool.nrIdle).isEqualTo(2);
        Await.until(() -> busy.stream().filter(t -> t.thread().isAlive()).count() <= 2, "their threads exit", BLOCKED);
    }

    @Test
    @Boot(memory = "16m", hungTaskTimeoutMillis = 300, hungTaskScanMillis = 50, hungTaskPanic = false)
    void aBlockedWorkersReportCarriesTheWorkqueueLine(Kernel k) throws Exception {
        Task me = k.currentTask();
        Workqueue wq = Workqueue.allocWorkqueue(k, "kloopd1", KLOOPD_FLAGS, 16);
        Completion gate = new Completion("gate").expectWaker(me);
        Task worker = ranOn(wq, 1, gate).iterator().next();
        Await.until(() -> k.watchdog().reports().stream().anyMatch(r -> r.type() == WatchdogReport.Type.HUNG_TASK),
                "a hung-task report", BLOCKED);
        WatchdogReport r = k.watchdog().reports().stream().filter(x -> x.type() == WatchdogReport.Type.HUNG_TASK)
                .findFirst().orElseThrow();
        BlockedTask t = r.tasks().get(0);
        assertThat(t.pid()).isEqualTo(worker.pid());
        assertThat(t.comm()).as("a kworker, or the rescuer").matches("kworker/u5:\\d+|kloopd1");
        assertThat(t.workqueue()).isEqualTo("kloopd1 loop_queue_read_work");
        assertThat(r.text()).contains("\nWorkqueue: kloopd1 loop_queue_read_work\n");
        gate.completeAll();
        wq.drainWorkqueue();
    }
}
