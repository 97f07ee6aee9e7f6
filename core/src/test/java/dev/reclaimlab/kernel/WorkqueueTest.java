package dev.reclaimlab.kernel;

import dev.reclaimlab.locking.Completion;
import dev.reclaimlab.locking.WaitRecord;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static dev.reclaimlab.kernel.Workqueue.WQ_FREEZABLE;
import static dev.reclaimlab.kernel.Workqueue.WQ_HIGHPRI;
import static dev.reclaimlab.kernel.Workqueue.WQ_MEM_RECLAIM;
import static dev.reclaimlab.kernel.Workqueue.WQ_UNBOUND;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The workqueue API as its users see it: queue, flush, drain, destroy, oopses and panics. */
@Timeout(30)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m")
class WorkqueueTest {
    static final Duration BLOCKED = Duration.ofSeconds(20);
    static final int KLOOPD_FLAGS = WQ_MEM_RECLAIM | WQ_HIGHPRI | WQ_UNBOUND;

    /** A work that tells the test it started and then waits for the gate (owed by the test task). */
    static WorkStruct gated(String name, Completion gate, CountDownLatch started, AtomicInteger runs) {
        return new WorkStruct(name, () -> {
            runs.incrementAndGet();
            started.countDown();
            gate.waitForCompletion();
        });
    }

    @Test
    void worksRunOnTheirPoolsWorkersAsCurrentWithTheirWorkNamed(Kernel k) throws Exception {
        Workqueue wq = Workqueue.allocWorkqueue(k, "kloopd1", KLOOPD_FLAGS, 16);
        int n = 20;
        CountDownLatch done = new CountDownLatch(n);
        List<Task> ranOn = new CopyOnWriteArrayList<>();
        Set<String> names = ConcurrentHashMap.newKeySet();
        for (int i = 0; i < n; i++) {
            assertThat(wq.queueWork(new WorkStruct("loop_queue_read_work", () -> {
                ranOn.add(Task.current());
                names.add(Task.current().currentWork());
                done.countDown();
            }))).isTrue();
        }
        assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(ranOn).hasSize(n).allSatisfy(t -> {
            assertThat(wq.isWorker(t)).isTrue();
            assertThat(t.isKthread()).isTrue();
            assertThat(t.flags() & TaskFlags.PF_WQ_WORKER).isNotZero();
        });
        assertThat(names).containsExactly("kloopd1 loop_queue_read_work");
        wq.drainWorkqueue();
        assertThat(ranOn).allSatisfy(t -> assertThat(t.currentWork()).isNull());
        assertThat(k.oopses()).isEmpty();
    }

    @Test
    void aPendingWorkIsQueuedOnceAndAQueuedWorksFlushIsOwedByEveryWorkerOfItsPool(Kernel k) throws Exception {
        // A per-CPU pool wakes an idle worker only when none runs: a spinning work keeps the next one queued.
        Workqueue wq = Workqueue.allocWorkqueue(k, "events", 0, 0);
        AtomicBoolean release = new AtomicBoolean();
        CountDownLatch spinning = new CountDownLatch(1);
        WorkStruct spinner = new WorkStruct("spin_work", () -> {
            spinning.countDown();
            while (!release.get()) {
                Thread.onSpinWait();
            }
        });
        // On CPU0's pool both: the test task may change CPUs between two plain queue_work()s.
        wq.queueWorkOn(0, spinner);
        assertThat(spinning.await(10, TimeUnit.SECONDS)).isTrue();

        AtomicInteger runs = new AtomicInteger();
        WorkStruct w = new WorkStruct("counted", runs::incrementAndGet);
        assertThat(wq.queueWorkOn(0, w)).isTrue();
        assertThat(wq.queueWork(w)).as("pending, whichever CPU asks").isFalse();
        assertThat(w.workPending()).isTrue();
        WorkerPool pool = w.pwq.pool();
        assertThat(pool.unbound()).isFalse();
        assertThat(pool.workersView()).as("the first worker made one idle before it ran the spinner").hasSize(2);

        AtomicReference<Boolean> waited = new AtomicReference<>();
        CountDownLatch flushed = new CountDownLatch(1);
        Task flusher = k.kthreadRun("flusher", t -> {
            waited.set(Workqueue.flushWork(w));
            flushed.countDown();
        });
        WaitRecord.Snapshot s = Await.blocked(flusher, BLOCKED);
        assertThat(s.on().name()).isEqualTo("flush_work counted");
        Task[] poolTasks = java.util.Arrays.stream(pool.workersView()).map(Worker::task).toArray(Task[]::new);
        assertThat(s.wakers().tasks()).containsExactlyInAnyOrder(poolTasks);
        assertThat(s.wakers().open()).isNull();
        assertThat(runs).hasValue(0);

        release.set(true);
        assertThat(flushed.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(waited.get()).isTrue();
        assertThat(w.workBusy()).isFalse();
        assertThat(runs).hasValue(1);
        assertThat(wq.queueWork(w)).isTrue();
        Workqueue.flushWork(w);
        assertThat(runs).hasValue(2);
        assertThat(Workqueue.flushWork(w)).as("nothing to flush").isFalse();
        wq.drainWorkqueue();
    }

    @Test
    void flushOfARunningWorkIsOwedByItsWorkerAndARequeuedWorkNeverRunsTwiceAtOnce(Kernel k) throws Exception {
        Task me = k.currentTask();
        Workqueue wq = Workqueue.allocWorkqueue(k, "xfs-cil/loop1", WQ_MEM_RECLAIM | WQ_FREEZABLE, 0);
        Completion gate = new Completion("gate").expectWaker(me);
        CountDownLatch firstStarted = new CountDownLatch(1);
        AtomicInteger running = new AtomicInteger();
        AtomicInteger maxRunning = new AtomicInteger();
        AtomicInteger runs = new AtomicInteger();
        Task[] worker = new Task[1];
        WorkStruct w = new WorkStruct("xlog_cil_push_work", () -> {
            maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
            if (runs.incrementAndGet() == 1) {
                worker[0] = Task.current();
                firstStarted.countDown();
                gate.waitForCompletion();
            }
            running.decrementAndGet();
        });
        wq.queueWork(w);
        assertThat(firstStarted.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(w.runningOn()).isSameAs(worker[0]);
        assertThat(w.workPending()).isFalse();
        // Running (and asleep, so its pool woke an idle worker): queued again from the other CPU it still
        // goes to the pool it runs in, and no other worker may run it now.
        Task requeuer = k.kthreadCreate("requeuer", 0, null, t -> wq.queueWork(w));
        requeuer.kthreadBind((worker[0].cpu() + 1) % k.nrCpus());
        k.kthreadStart(requeuer);
        Await.until(() -> w.workPending(), "requeued", BLOCKED);
        Await.until(() -> !requeuer.thread().isAlive(), "the requeuer is done", BLOCKED);

        Task flusher = k.kthreadRun("flusher", t -> Workqueue.flushWork(w));
        WaitRecord.Snapshot s = Await.blocked(flusher, BLOCKED);
        assertThat(s.wakers().tasks()).containsExactly(worker[0]);
        gate.completeAll();
        Workqueue.flushWork(w);
        wq.drainWorkqueue();
        assertThat(runs).hasValue(2);
        assertThat(maxRunning).hasValue(1);
    }

    @Test
    void aWorkThatThrowsIsAnOopsAndTheWorkerSurvives(Kernel k) throws Exception {
        Workqueue wq = Workqueue.allocWorkqueue(k, "kloopd0", KLOOPD_FLAGS, 16);
        Task[] badOn = new Task[1];
        WorkStruct bad = new WorkStruct("bad", () -> {
            badOn[0] = Task.current();
            throw new IllegalStateException("bad work");
        });
        CountDownLatch ran = new CountDownLatch(1);
        WorkStruct good = new WorkStruct("good", ran::countDown);
        wq.queueWork(bad);
        Workqueue.flushWork(bad);
        wq.queueWork(good);
        assertThat(ran.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(k.oopses()).singleElement().satisfies(e -> assertThat(e).hasMessage("bad work"));
        assertThat(k.dmesg()).contains("BUG: workqueue kloopd0: work bad oopsed on " + badOn[0] + ": ");
        assertThat(badOn[0].thread().isAlive()).isTrue();
        assertThat(wq.isWorker(badOn[0])).isTrue();
    }

    @Test
    void destroyStopsTheRescuerAndAPoolNobodyUsesAndCloseStopsTheRest(Kernel k) {
        Workqueue a = Workqueue.allocWorkqueue(k, "a", WQ_UNBOUND, 0);
        Workqueue b = Workqueue.allocWorkqueue(k, "b", KLOOPD_FLAGS, 16);
        AtomicInteger runs = new AtomicInteger();
        WorkStruct w = new WorkStruct("w", runs::incrementAndGet);
        b.queueWork(w);
        Task[] bWorkers = b.workers();
        assertThat(bWorkers).contains(b.rescuer());
        b.destroyWorkqueue();
        assertThat(runs).hasValue(1);
        for (Task t : bWorkers) {
            assertThat(t.thread().isAlive()).as(t.toString()).isFalse();
        }
        assertThatThrownBy(() -> b.queueWork(new WorkStruct("late", () -> { })))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("workqueue b is destroyed");
        assertThatThrownBy(b::destroyWorkqueue).hasMessageContaining("already destroyed");
        Task[] aWorkers = a.workers();
        a.destroyWorkqueue();
        assertThat(aWorkers).as("the standard unbound pool stays, as events_unbound keeps it")
                .allSatisfy(t -> assertThat(t.thread().isAlive()).isTrue());
        k.close();
        for (Task t : aWorkers) {
            assertThat(t.thread().isAlive()).as(t.toString()).isFalse();
        }
        assertThat(k.oopses()).isEmpty();
        assertThat(k.panicked()).isFalse();
    }

    @Test
    void badArgumentsThrowAndAnOutOfRangeMaxActiveIsClampedAsTheKernelWarns(Kernel k) {
        assertThatThrownBy(() -> Workqueue.allocWorkqueue(k, "", 0, 0)).hasMessageContaining("name");
        assertThatThrownBy(() -> Workqueue.allocWorkqueue(k, "x", 1 << 12, 0)).hasMessageContaining("unknown flags 0x1000");
        Workqueue wq = Workqueue.allocWorkqueue(k, "x", 0, 100_000);
        assertThat(wq.maxActive()).isEqualTo(Workqueue.WQ_MAX_ACTIVE);
        assertThat(k.dmesg()).contains("workqueue: max_active 100000 requested for x is out of range, clamping between 1 and 512");
        assertThat(Workqueue.allocWorkqueue(k, "y", WQ_UNBOUND, 0).maxActive()).isEqualTo(Workqueue.WQ_DFL_ACTIVE);
        assertThat(Workqueue.allocWorkqueue(k, "a-very-long-workqueue-name-indeed", 0, 1).name())
                .isEqualTo("a-very-long-workqueue-n");
        assertThatThrownBy(() -> wq.queueWork(null)).isInstanceOf(IllegalArgumentException.class);
        WorkStruct w = new WorkStruct("w", () -> { });
        assertThatThrownBy(() -> wq.queueWorkOn(2, w)).hasMessageContaining("queue_work_on(x, w): CPU2 does not exist");
        assertThatThrownBy(() -> wq.queueWorkOn(-7, w)).hasMessageContaining("CPU-7 does not exist");
        assertThat(w.workPending()).as("a refused work is not left pending").isFalse();
        assertThatThrownBy(() -> new WorkStruct("", () -> { })).hasMessageContaining("INIT_WORK");
    }

    @Test
    void flushFromInsideTheWorkItselfThrows(Kernel k) throws Exception {
        Workqueue wq = Workqueue.allocWorkqueue(k, "self", WQ_UNBOUND, 1);
        ConcurrentHashMap<String, Throwable> caught = new ConcurrentHashMap<>();
        WorkStruct[] self = new WorkStruct[1];
        self[0] = new WorkStruct("selfflush", () -> {
            try {
                Workqueue.flushWork(self[0]);
            } catch (IllegalStateException e) {
                caught.put("e", e);
            }
        });
        wq.queueWork(self[0]);
        Workqueue.flushWork(self[0]);
        assertThat(caught.get("e")).hasMessageContaining("from inside the work");
    }

    @Test
    void drainWaitsForChainedWorksAndRefusesOthersMeanwhile(Kernel k) throws Exception {
        Task me = k.currentTask();
        Workqueue wq = Workqueue.allocWorkqueue(k, "chain", WQ_UNBOUND, 0);
        Completion gate = new Completion("gate").expectWaker(me);
        AtomicInteger links = new AtomicInteger();
        CountDownLatch started = new CountDownLatch(1);
        WorkStruct[] chain = new WorkStruct[1];
        chain[0] = new WorkStruct("chain_work", () -> {
            if (links.incrementAndGet() == 1) {
                started.countDown();
                gate.waitForCompletion();
            }
            if (links.get() < 5) {
                wq.queueWork(chain[0]);
            }
        });
        wq.queueWork(chain[0]);
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        CountDownLatch drained = new CountDownLatch(1);
        Task drainer = k.kthreadRun("drainer", t -> {
            wq.drainWorkqueue();
            drained.countDown();
        });
        WaitRecord.Snapshot s = Await.blocked(drainer, BLOCKED);
        assertThat(s.on().name()).isEqualTo("drain_workqueue chain");
        assertThat(s.wakers().mode().name()).isEqualTo("ALL");
        assertThat(s.wakers().tasks()).containsExactly(chain[0].runningOn());
        assertThatThrownBy(() -> wq.queueWork(new WorkStruct("outsider", () -> { })))
                .hasMessageContaining("is being drained");
        gate.completeAll();
        assertThat(drained.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(links).hasValue(5);
        assertThat(wq.queueWork(new WorkStruct("after", () -> { }))).isTrue();
    }

    @Test
    void aPanicUnwindsAWorkerStuckInAWork(Kernel k) throws Exception {
        Workqueue wq = Workqueue.allocWorkqueue(k, "stuck", WQ_UNBOUND, 0);
        Completion never = new Completion("never");
        CountDownLatch started = new CountDownLatch(1);
        Task[] on = new Task[1];
        wq.queueWork(new WorkStruct("waits forever", () -> {
            on[0] = Task.current();
            started.countDown();
            never.waitForCompletion();
        }));
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        Await.blocked(on[0], BLOCKED);
        k.panic("test: unwind the stuck worker");
        k.close();
        assertThat(on[0].thread().isAlive()).isFalse();
        assertThat(k.oopses()).isEmpty();
    }
}
