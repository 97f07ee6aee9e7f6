package dev.reclaimlab.kernel;

import dev.reclaimlab.locking.WaitQueue;
import dev.reclaimlab.locking.Waitable;
import dev.reclaimlab.locking.WakerSink;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * struct work_struct (include/linux/workqueue.h, as in Linux 4.3): a function, named as the kernel names
 * it ("loop_queue_read_work"), with a pending bit. queue_work() sets the bit; the worker clears it just
 * before the function runs, so a running work may be queued again, and it still never runs on two workers
 * at once (find_worker_executing_work()).
 *
 * <p>As a {@link Waitable} a work says who will run it, computed whenever the watchdog asks: queued on its
 * pool, every worker of the pool (an idle one is woken, a busy one takes it when it is done, the manager
 * after it created a worker) and the queue's rescuer while a mayday can reach it; held back by max_active,
 * the workers running the queue's active works; queued again while it runs, or handed to a worker's
 * scheduled list, that worker; running, its worker. A bio or a flush waiting for the work declares it with
 * expectWakersFrom(work).
 */
public final class WorkStruct implements Waitable {
    private final String name;
    private final Runnable func;
    /** WORK_STRUCT_PENDING. */
    final AtomicBoolean pending = new AtomicBoolean();
    // The rest is written under the pool lock of the pool it is queued on or runs in; read racily.
    /** The pool_workqueue it was last queued on (work->data while queued). */
    volatile PoolWorkqueue pwq;
    /** The pool it last ran in (work->data once off queue): __queue_work() looks there for it. */
    volatile WorkerPool lastPool;
    /** The worker running it now, or null. */
    volatile Worker runningOn;
    /** The worker whose scheduled list holds it (a collision or the rescuer), or null. */
    volatile Worker scheduledOn;
    /** WORK_STRUCT_DELAYED: on its pwq's delayed list, waiting for max_active. */
    volatile boolean delayed;
    /** Times queued and times run to the end: flush_work() waits for one instance to end. */
    volatile long queuedSeq;
    volatile long doneSeq;
    /** flush_work() waiters: owed by whoever this work says runs it. */
    final WaitQueue flushWait;

    /** INIT_WORK(work, func): {@code name} is the function's kernel name. */
    public WorkStruct(String name, Runnable func) {
        if (name == null || name.isEmpty() || func == null) {
            throw new IllegalArgumentException("INIT_WORK: a function and its name are required (name " + name + ")");
        }
        this.name = name;
        this.func = func;
        this.flushWait = new WaitQueue("flush_work " + name);
        flushWait.expectWakersFrom(this);
    }

    /** The work function's name, as print_worker_info() prints it. */
    @Override
    public String name() {
        return name;
    }

    Runnable func() {
        return func;
    }

    /** work_pending(): queued and not yet started. */
    public boolean workPending() {
        return pending.get();
    }

    /** The worker task running this work right now, or null. */
    public Task runningOn() {
        Worker w = runningOn;
        return w == null ? null : w.task();
    }

    /** work_busy() reduced to a boolean: pending or running. */
    public boolean workBusy() {
        return pending.get() || runningOn != null;
    }

    /** Queued behind max_active on its workqueue's delayed list. */
    public boolean workDelayed() {
        return pending.get() && delayed;
    }

    /** Who will run (or finish) this work now; see the class comment. Racy reads, as the watchdog's. */
    @Override
    public void wakers(WakerSink out) {
        Worker run = runningOn;
        if (!pending.get()) {
            if (run != null) {
                out.add(run.task());
            }
            return;
        }
        Worker sched = scheduledOn;
        if (sched != null) {
            out.add(sched.task());
            return;
        }
        if (run != null) {
            // Queued again while it runs: whoever picks it up hands it to the running worker.
            out.add(run.task());
            return;
        }
        PoolWorkqueue p = pwq;
        if (p == null) {
            // Between the pending bit and the insert: the queuer is about to put it on a pool.
            out.open("queue_work(" + name + ") in progress");
            return;
        }
        if (delayed) {
            p.delayedWakers(out);
        } else {
            p.pool().queuedWakers(out, p.wq());
        }
    }

    @Override
    public String toString() {
        return "work " + name;
    }
}
