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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(30)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m")
class WorkqueueTest {
    private static final Duration BLOCKED = Duration.ofSeconds(20);

    /** A work that tells the test it started and then waits for the gate (owed by the test task). */
    private static WorkStruct gated(String name, Completion gate, CountDownLatch started, AtomicInteger runs) {
        return new WorkStruct(name, () -> {
            runs.incrementAndGet();
            started.countDown();
            gate.waitForCompletion();
        });
    }

    @Test
    void worksRunOnTheQueuesWorkersAsCurrent(Kernel k) throws Exception {
        Workqueue wq = Workqueue.allocWorkqueue(k, "kloopd1", 2);
        assertThat(wq.workers()).hasSize(2).allSatisfy(w -> {
            assertThat(w.comm()).isEqualTo("kloopd1");
            assertThat(w.isKthread()).isTrue();
        });
        int n = 20;
        CountDownLatch done = new CountDownLatch(n);
        List<Task> ranOn = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int i = 0; i < n; i++) {
            assertThat(wq.queueWork(new WorkStruct("w" + i, () -> {
                ranOn.add(Task.current());
                done.countDown();
            }))).isTrue();
        }
        assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(ranOn).hasSize(n).allSatisfy(t -> assertThat(wq.isWorker(t)).isTrue());
        wq.drainWorkqueue();
        assertThat(k.oopses()).isEmpty();
    }

    @Test
    void aPendingWorkIsQueuedOnceAndFlushWaitsForIt(Kernel k) throws Exception {
        Task me = k.currentTask();
        Workqueue wq = Workqueue.allocWorkqueue(k, "events", 2);
        Completion gate = new Completion("gate").expectWaker(me);
        CountDownLatch busy = new CountDownLatch(2);
        AtomicInteger blockerRuns = new AtomicInteger();
        wq.queueWork(gated("blocker-a", gate, busy, blockerRuns));
        wq.queueWork(gated("blocker-b", gate, busy, blockerRuns));
        assertThat(busy.await(10, TimeUnit.SECONDS)).isTrue();

        AtomicInteger runs = new AtomicInteger();
        WorkStruct w = new WorkStruct("counted", runs::incrementAndGet);
        assertThat(wq.queueWork(w)).isTrue();
        assertThat(wq.queueWork(w)).isFalse();
        assertThat(w.workPending()).isTrue();

        // Queued but not started: the flusher's wait is owed by every worker of the queue.
        AtomicReference<Boolean> waited = new AtomicReference<>();
        CountDownLatch flushed = new CountDownLatch(1);
        Task flusher = k.kthreadRun("flusher", t -> {
            waited.set(Workqueue.flushWork(w));
            flushed.countDown();
        });
        WaitRecord.Snapshot s = Await.blocked(flusher, BLOCKED);
        assertThat(s.on().name()).isEqualTo("flush_work counted");
        assertThat(s.wakers().tasks()).containsExactlyInAnyOrder(wq.workers());

        gate.completeAll();
        assertThat(flushed.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(waited.get()).isTrue();
        assertThat(w.workBusy()).isFalse();
        assertThat(runs.get()).isEqualTo(1);
        assertThat(wq.queueWork(w)).isTrue();
        Workqueue.flushWork(w);
        assertThat(runs.get()).isEqualTo(2);
        wq.drainWorkqueue();
    }

    @Test
    void flushOfARunningWorkIsOwedByItsWorkerAndARequeuedWorkNeverRunsTwiceAtOnce(Kernel k) throws Exception {
        Task me = k.currentTask();
        Workqueue wq = Workqueue.allocWorkqueue(k, "xfs-cil/loop1", 2);
        Completion gate = new Completion("gate").expectWaker(me);
        CountDownLatch firstStarted = new CountDownLatch(1);
        AtomicInteger running = new AtomicInteger();
        AtomicInteger maxRunning = new AtomicInteger();
        AtomicInteger runs = new AtomicInteger();
        Task[] worker = new Task[1];
        WorkStruct w = new WorkStruct("push", () -> {
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
        // Running: pending is clear, so it can be queued again; the other, idle worker must not run it now.
        assertThat(wq.queueWork(w)).isTrue();

        Task flusher = k.kthreadRun("flusher", t -> Workqueue.flushWork(w));
        WaitRecord.Snapshot s = Await.blocked(flusher, BLOCKED);
        assertThat(s.wakers().tasks()).contains(worker[0]);
        gate.completeAll();
        Workqueue.flushWork(w);
        wq.drainWorkqueue();
        assertThat(runs.get()).isEqualTo(2);
        assertThat(maxRunning.get()).isEqualTo(1);
    }

    @Test
    void aWorkThatThrowsIsAnOopsAndTheWorkerSurvives(Kernel k) throws Exception {
        Workqueue wq = Workqueue.allocWorkqueue(k, "kloopd0", 1);
        WorkStruct bad = new WorkStruct("bad", () -> {
            throw new IllegalStateException("bad work");
        });
        CountDownLatch ran = new CountDownLatch(1);
        Task[] ranOn = new Task[1];
        WorkStruct good = new WorkStruct("good", () -> {
            ranOn[0] = Task.current();
            ran.countDown();
        });
        wq.queueWork(bad);
        wq.queueWork(good);
        assertThat(ran.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(ranOn[0]).isSameAs(wq.workers()[0]);
        assertThat(k.oopses()).singleElement().satisfies(e -> assertThat(e).hasMessage("bad work"));
        assertThat(k.dmesg()).contains("BUG: workqueue kloopd0: work bad oopsed on kloopd0:");
        assertThat(ranOn[0].thread().isAlive()).isTrue();
    }

    @Test
    void workersStopOnCloseAndOnDestroy(Kernel k) {
        Workqueue a = Workqueue.allocWorkqueue(k, "a", 2);
        Workqueue b = Workqueue.allocWorkqueue(k, "b", 3);
        Task[] closedWorkers = a.workers();
        AtomicInteger runs = new AtomicInteger();
        WorkStruct w = new WorkStruct("w", runs::incrementAndGet);
        b.queueWork(w);
        b.destroyWorkqueue();
        assertThat(runs.get()).isEqualTo(1);
        for (Task t : b.workers()) {
            assertThat(t.thread().isAlive()).as(t.toString()).isFalse();
        }
        assertThatThrownBy(() -> b.queueWork(new WorkStruct("late", () -> { })))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("workqueue b");
        assertThatThrownBy(() -> Workqueue.allocWorkqueue(k, "none", 0))
                .hasMessageContaining("nrWorkers 0");
        k.close();
        for (Task t : closedWorkers) {
            assertThat(t.thread().isAlive()).as(t.toString()).isFalse();
        }
        assertThat(k.oopses()).isEmpty();
        assertThat(k.panicked()).isFalse();
    }

    @Test
    void flushFromInsideTheWorkItselfThrows(Kernel k) throws Exception {
        Workqueue wq = Workqueue.allocWorkqueue(k, "self", 1);
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
    void aPanicUnwindsAWorkerStuckInAWork(Kernel k) throws Exception {
        Workqueue wq = Workqueue.allocWorkqueue(k, "stuck", 1);
        Task[] ws = wq.workers();
        Completion never = new Completion("never");
        CountDownLatch started = new CountDownLatch(1);
        wq.queueWork(new WorkStruct("waits forever", () -> {
            started.countDown();
            never.waitForCompletion();
        }));
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        Await.blocked(ws[0], BLOCKED);
        k.panic("test: unwind the stuck worker");
        k.close();
        assertThat(ws[0].thread().isAlive()).isFalse();
        assertThat(k.oopses()).isEmpty();
    }
}
