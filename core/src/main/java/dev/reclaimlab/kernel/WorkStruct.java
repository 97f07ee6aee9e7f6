package dev.reclaimlab.kernel;

import dev.reclaimlab.locking.WaitQueue;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * struct work_struct (include/linux/workqueue.h): a named function with a pending bit, queued on a
 * {@link Workqueue} and run by one of its workers. The pending bit is cleared just before the function
 * runs, so a running work may be queued again; it still never runs on two workers of one queue at once.
 */
public final class WorkStruct {
    private final String name;
    private final Runnable func;
    final AtomicBoolean pending = new AtomicBoolean();
    /** The worker running the function now, or null. */
    volatile Task current;
    /** The queue it was last queued on (work->data's pool in the kernel); flushWork() needs it. */
    volatile Workqueue wq;
    /** flush_work() waiters; the declared wakers follow the work: all workers while queued, the runner while it runs. */
    final WaitQueue flushWait;

    /** INIT_WORK(). */
    public WorkStruct(String name, Runnable func) {
        if (name == null || func == null) {
            throw new IllegalArgumentException("INIT_WORK: name and function are required (name " + name + ")");
        }
        this.name = name;
        this.func = func;
        this.flushWait = new WaitQueue("flush_work " + name);
    }

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

    /** The worker running this work right now, or null. */
    public Task runningOn() {
        return current;
    }

    /** work_busy() reduced to a boolean: pending or running. */
    public boolean workBusy() {
        return pending.get() || current != null;
    }

    @Override
    public String toString() {
        return "work " + name;
    }
}
