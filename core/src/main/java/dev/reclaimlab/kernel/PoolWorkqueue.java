package dev.reclaimlab.kernel;

import dev.reclaimlab.locking.WakerSink;

import java.util.ArrayDeque;

/**
 * struct pool_workqueue (kernel/workqueue.c, as in Linux 4.3): links a workqueue to one worker pool and
 * enforces the workqueue's max_active there. A queued work is active (on the pool's worklist or running)
 * while fewer than max_active are; otherwise it waits on {@link #delayedWorks} until an active one ends.
 * Fields are under the pool's lock; the volatile ones are also read racily by the watchdog.
 */
final class PoolWorkqueue {
    private final WorkerPool pool;
    private final Workqueue wq;
    volatile int nrActive;
    final int maxActive;
    /** Works queued here and not yet finished, active or delayed (drain_workqueue() waits for 0). */
    int nrInFlight;
    final ArrayDeque<WorkStruct> delayedWorks = new ArrayDeque<>();
    /** On wq->maydays (mayday_node not empty); written under the mayday lock. */
    volatile boolean onMayday;

    PoolWorkqueue(WorkerPool pool, Workqueue wq, int maxActive) {
        this.pool = pool;
        this.wq = wq;
        this.maxActive = maxActive;
    }

    WorkerPool pool() {
        return pool;
    }

    Workqueue wq() {
        return wq;
    }

    /**
     * pwq_activate_first_delayed(): the oldest delayed work joins the pool's worklist. Pool lock held.
     */
    void pwqActivateFirstDelayed() {
        WorkStruct work = delayedWorks.pollFirst();
        if (work == null) {
            return;
        }
        work.delayed = false;
        nrActive++;
        pool.worklistAdd(work);
    }

    /**
     * pwq_dec_nr_in_flight(): one of this pwq's works ended; a delayed one takes its place. Pool lock held.
     */
    void pwqDecNrInFlight() {
        nrInFlight--;
        nrActive--;
        if (!delayedWorks.isEmpty() && nrActive < maxActive) {
            pwqActivateFirstDelayed();
        }
        wq.workEnded();
    }

    /**
     * Who lets a delayed work become active: the end of any active work of this pwq, so the workers
     * running them, and whoever runs the active ones still queued.
     */
    void delayedWakers(WakerSink out) {
        int running = 0;
        for (Worker w : pool.workersView()) {
            if (w.currentPwq == this) {
                out.add(w.task());
                running++;
            }
        }
        Worker r = wq.rescuerWorker();
        if (r != null && r.currentPwq == this) {
            out.add(r.task());
            running++;
        }
        if (nrActive > running) {
            pool.queuedWakers(out, wq);
        }
    }

    @Override
    public String toString() {
        return "pwq " + wq.name() + " on pool " + pool.id();
    }
}
