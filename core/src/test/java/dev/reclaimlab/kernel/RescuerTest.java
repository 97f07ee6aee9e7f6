package dev.reclaimlab.kernel;

import dev.reclaimlab.locking.Completion;
import dev.reclaimlab.locking.WaitRecord;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.Mm;
import dev.reclaimlab.mm.PageAlloc;
import dev.reclaimlab.mm.ShrinkControl;
import dev.reclaimlab.mm.Shrinker;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.watchdog.WaitEdge;
import dev.reclaimlab.watchdog.Watchdog;
import dev.reclaimlab.watchdog.WatchdogReport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static dev.reclaimlab.kernel.Workqueue.WQ_HIGHPRI;
import static dev.reclaimlab.kernel.Workqueue.WQ_UNBOUND;
import static dev.reclaimlab.kernel.WorkqueueTest.BLOCKED;
import static dev.reclaimlab.kernel.WorkqueueTest.KLOOPD_FLAGS;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The rescuer, as rescuer_thread() and the mayday timer of Linux 4.3 run it: when the manager's GFP_KERNEL
 * allocation of a new worker is stuck in reclaim, a WQ_MEM_RECLAIM queue's works still run, on its rescuer;
 * a queue without one waits for the manager.
 */
@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m", kswapd = false)
class RescuerTest {
    /** Memory taken so that the next GFP_KERNEL allocation of a struct worker has to reclaim. */
    private static final class Hog {
        final List<Integer> pages = new ArrayList<>();
        final List<Long> objects = new ArrayList<>();

        /** Every free page below the min watermark and every free kmalloc-192 object, on every CPU. */
        static Hog take(Kernel k) {
            Hog h = new Hog();
            Mm mm = k.mm();
            for (int pfn = mm.allocPages(Gfp.GFP_NOWAIT, 0); pfn != PageAlloc.NULL_PAGE;
                 pfn = mm.allocPages(Gfp.GFP_NOWAIT, 0)) {
                h.pages.add(pfn);
            }
            Task me = k.currentTask();
            for (int c = 0; c < k.nrCpus(); c++) {
                me.runOnCpu(c, () -> {
                    for (long a = mm.kmalloc(WorkerPool.WORKER_STRUCT_SIZE, Gfp.GFP_NOWAIT); a != 0;
                         a = mm.kmalloc(WorkerPool.WORKER_STRUCT_SIZE, Gfp.GFP_NOWAIT)) {
                        h.objects.add(a);
                    }
                });
            }
            return h;
        }

        void give(Kernel k) {
            pages.forEach(p -> k.mm().freePages(p, 0));
            objects.forEach(a -> k.mm().kfree(a));
            pages.clear();
            objects.clear();
        }
    }

    /** A cache whose shrinker holds the pool's manager in reclaim until the test opens the gate. */
    private static Shrinker stuckFor(Task victim, Completion gate, CountDownLatch entered) {
        return new Shrinker() {
            @Override
            public String name() {
                return "test_stuck_cache";
            }

            @Override
            public long countObjects(ShrinkControl sc) {
                return 1 << 20;
            }

            @Override
            public long scanObjects(ShrinkControl sc) {
                if (Task.current() == victim && !gate.completionDone()) {
                    entered.countDown();
                    gate.waitForCompletion();
                }
                return SHRINK_STOP;
            }
        };
    }

    @Test
    void whenWorkerCreationIsStuckInReclaimTheMaydayTimerSummonsTheRescuerToRunTheQueuesWorks(Kernel k)
            throws Exception {
        Task me = k.currentTask();
        Workqueue kloopd = Workqueue.allocWorkqueue(k, "kloopd1", KLOOPD_FLAGS, 16);
        Workqueue plain = Workqueue.allocWorkqueue(k, "plain", WQ_HIGHPRI | WQ_UNBOUND, 0);
        Task manager = null;
        for (Task t : kloopd.workers()) {
            if (t != kloopd.rescuer()) {
                manager = t;
            }
        }
        assertThat(manager).isNotNull();
        assertThat(plain.workers()).as("the same pool, one worker").containsExactly(manager);
        Completion gate = new Completion("reclaim gate").expectWaker(me);
        CountDownLatch inReclaim = new CountDownLatch(1);
        k.mm().shrinkers().registerShrinker(stuckFor(manager, gate, inReclaim));
        Hog hog = Hog.take(k);
        try {
            // The only worker leaves idle for this work, finds none idle left, and manages first.
            CountDownLatch rescued = new CountDownLatch(1);
            Task[] ranOn = new Task[1];
            WorkStruct w = new WorkStruct("loop_queue_read_work", () -> {
                ranOn[0] = Task.current();
                rescued.countDown();
            });
            CountDownLatch plainRan = new CountDownLatch(1);
            WorkStruct x = new WorkStruct("plain_work", plainRan::countDown);
            kloopd.queueWork(w);
            plain.queueWork(x);
            assertThat(inReclaim.await(10, TimeUnit.SECONDS)).as("the manager reclaims in create_worker").isTrue();
            WaitRecord.Snapshot stuck = Await.blocked(manager, BLOCKED);
            assertThat(stuck.on().name()).isEqualTo("reclaim gate");
            assertThat(Watchdog.stackOf(manager)).anyMatch(f -> f.startsWith("createWorker "))
                    .anyMatch(f -> f.startsWith("maybeCreateWorker ")).anyMatch(f -> f.startsWith("kmalloc "));

            assertThat(rescued.await(10, TimeUnit.SECONDS)).as("the rescuer ran the work").isTrue();
            assertThat(ranOn[0]).isSameAs(kloopd.rescuer());
            assertThat(ranOn[0].comm()).isEqualTo("kloopd1");
            // No rescuer for the other queue: its work waits for the manager, and says so.
            assertThat(x.workPending()).isTrue();
            Task flusher = k.kthreadRun("flusher", t -> Workqueue.flushWork(x));
            WaitRecord.Snapshot s = Await.blocked(flusher, BLOCKED);
            assertThat(s.wakers().tasks()).containsExactly(manager);
            assertThat(plainRan.getCount()).isEqualTo(1);
        } finally {
            hog.give(k);
            gate.completeAll();
        }
        kloopd.drainWorkqueue();
        plain.drainWorkqueue();
        assertThat(k.oopses()).isEmpty();
    }

    /**
     * The manager reclaims into a wait that the flusher of a queued work owes: with no rescuer only the
     * manager can run the work, a real deadlock the watchdog proves; with one, the rescuer runs the work and
     * everything moves on.
     */
    @ParameterizedTest(name = "WQ_MEM_RECLAIM={0}")
    @ValueSource(booleans = {false, true})
    @Boot(memory = "16m", kswapd = false, hungTaskScanMillis = 50, hungTaskTimeoutMillis = 60_000)
    void aManagerStuckInReclaimOnTheFlusherOfAQueuedWorkDeadlocksUnlessTheQueueHasARescuer(boolean memReclaim,
                                                                                           Kernel k) throws Exception {
        Workqueue wq = Workqueue.allocWorkqueue(k, "reclaimer", (memReclaim ? Workqueue.WQ_MEM_RECLAIM : 0)
                | WQ_HIGHPRI | WQ_UNBOUND, 0);
        Task manager = null;
        for (Task t : wq.workers()) {
            if (t != wq.rescuer()) {
                manager = t;
            }
        }
        CountDownLatch ran = new CountDownLatch(1);
        WorkStruct w = new WorkStruct("reclaim_work", ran::countDown);
        Completion gate = new Completion("reclaim gate");
        Task flusher = k.kthreadCreate("flusher", 0, null, t -> {
            Workqueue.flushWork(w);
            gate.completeAll();
        });
        gate.expectWaker(flusher);
        CountDownLatch inReclaim = new CountDownLatch(1);
        k.mm().shrinkers().registerShrinker(stuckFor(manager, gate, inReclaim));
        Hog hog = Hog.take(k);
        wq.queueWork(w);
        assertThat(inReclaim.await(10, TimeUnit.SECONDS)).isTrue();
        k.kthreadStart(flusher);
        if (memReclaim) {
            assertThat(ran.await(10, TimeUnit.SECONDS)).isTrue();
            Await.until(() -> !flusher.thread().isAlive(), "the flusher ended the gate", BLOCKED);
            hog.give(k);
            wq.drainWorkqueue();
            assertThat(k.watchdog().reports()).isEmpty();
            return;
        }
        Await.until(k::panicked, "the watchdog proves the deadlock", BLOCKED);
        WatchdogReport r = k.watchdog().reports().get(0);
        assertThat(r.type()).isEqualTo(WatchdogReport.Type.DEADLOCK);
        assertThat(r.edges()).extracting(e -> e.from() + " -> " + e.to()).containsExactlyInAnyOrder(
                flusher + " -> " + manager, manager + " -> " + flusher);
        assertThat(r.edges()).extracting(WaitEdge::via).contains("waitqueue flush_work reclaim_work");
        assertThat(ran.getCount()).isEqualTo(1);
    }
}
