package dev.reclaimlab.kernel;

import dev.reclaimlab.locking.WaitQueue;

import java.util.ArrayDeque;

/**
 * struct worker with worker_thread() and process_one_work() (kernel/workqueue.c, as in Linux 4.3): a
 * kworker of one pool, or a workqueue's rescuer, which joins whichever pool calls it. It runs works as
 * itself, so Task.current() in a work is the worker and its report carries the "Workqueue:" line.
 *
 * <p>Flags are written only by the worker itself under its pool's lock, except WORKER_DIE (destroy_worker(),
 * pool lock held, on an idle worker). A per-CPU worker without WORKER_NOT_RUNNING counts in its pool's
 * nr_running; schedule() takes it out while it sleeps ({@link #wqWorkerSleeping()}).
 */
final class Worker {
    static final int WORKER_DIE = 1 << 1;
    static final int WORKER_IDLE = 1 << 2;
    static final int WORKER_PREP = 1 << 3;
    static final int WORKER_CPU_INTENSIVE = 1 << 6;
    static final int WORKER_UNBOUND = 1 << 7;
    static final int WORKER_NOT_RUNNING = WORKER_PREP | WORKER_CPU_INTENSIVE | WORKER_UNBOUND;

    private final Kernel kernel;
    /** The pool it belongs to; a rescuer's changes as it goes where it is summoned. */
    volatile WorkerPool pool;
    final int id;
    /** The kzalloc()ed struct worker (0 for none). */
    private final long mem;
    private volatile Task task;
    volatile int flags = WORKER_PREP;
    volatile WorkStruct currentWork;
    volatile PoolWorkqueue currentPwq;
    /** Works handed to this worker: collisions, and what a rescuer took from a pool. Pool lock. */
    final ArrayDeque<WorkStruct> scheduled = new ArrayDeque<>();
    /** jiffies when it last became idle. */
    long lastActive;
    /** The workqueue this worker rescues, or null for a pool's kworker. */
    final Workqueue rescueWq;
    private final WaitQueue idleWait;
    private volatile boolean kicked;

    Worker(Kernel kernel, WorkerPool pool, int id, long mem, Workqueue rescueWq) {
        this.kernel = kernel;
        this.pool = pool;
        this.id = id;
        this.mem = mem;
        this.rescueWq = rescueWq;
        this.idleWait = new WaitQueue(rescueWq == null ? "worker_thread idle" : "rescuer_thread idle");
    }

    Task task() {
        return task;
    }

    void setTask(Task t) {
        this.task = t;
    }

    long mem() {
        return mem;
    }

    /** wake_up_process() of an idle worker: it leaves its idle sleep and looks at its pool. */
    void kick() {
        kicked = true;
        idleWait.wakeUp();
    }

    // ---------------------------------------------------------------- flags and concurrency

    /** worker_set_flags(): entering NOT_RUNNING leaves the pool's concurrency count. Pool lock held. */
    void workerSetFlags(int f) {
        int old = flags;
        if ((f & WORKER_NOT_RUNNING) != 0 && (old & WORKER_NOT_RUNNING) == 0) {
            pool.nrRunning.decrementAndGet();
        }
        flags = old | f;
    }

    /** worker_clr_flags(): leaving NOT_RUNNING joins the pool's concurrency count. Pool lock held. */
    void workerClrFlags(int f) {
        int old = flags;
        int now = old & ~f;
        flags = now;
        if ((old & WORKER_NOT_RUNNING) != 0 && (now & WORKER_NOT_RUNNING) == 0) {
            pool.nrRunning.incrementAndGet();
        }
    }

    /**
     * wq_worker_sleeping(), from schedule() of this worker's own task: a running per-CPU worker that
     * sleeps leaves nr_running, and if that leaves none while works are queued an idle worker is woken.
     * Returns whether it was counted (then {@link #wqWorkerWakingUp()} follows). No locks: the kernel
     * reads the pool from the local CPU here.
     */
    boolean wqWorkerSleeping() {
        if ((flags & WORKER_NOT_RUNNING) != 0) {
            return false;
        }
        WorkerPool p = pool;
        if (p.nrRunning.decrementAndGet() == 0 && p.nrPending > 0) {
            Worker idle = p.firstIdle;
            if (idle != null) {
                idle.kick();
            }
        }
        return true;
    }

    /** wq_worker_waking_up(). */
    void wqWorkerWakingUp() {
        pool.nrRunning.incrementAndGet();
    }

    /** worker_enter_idle(). Pool lock held. */
    void workerEnterIdle() {
        flags |= WORKER_IDLE;
        lastActive = System.nanoTime();
        pool.idleAdd(this);
    }

    /** worker_leave_idle(). Pool lock held. */
    void workerLeaveIdle() {
        workerClrFlags(WORKER_IDLE);
        pool.idleRemove(this);
        kicked = false;
    }

    // ---------------------------------------------------------------- worker_thread

    /** worker_thread(): see the class comment. Starts idle, as create_worker() leaves it. */
    void workerThread(Task self) {
        self.setFlags(self.flags() | TaskFlags.PF_WQ_WORKER);
        self.setWqWorker(this);
        WorkerPool p = pool;
        try {
            for (;;) {
                p.lock.spinLock();
                if ((flags & WORKER_DIE) != 0 || (self.kthreadShouldStop() && p.worklistEmpty())) {
                    p.workerDetach(this);
                    p.lock.spinUnlock();
                    return;
                }
                workerLeaveIdle();
                // A worker asked to stop (Kernel.close()) first runs what is queued, whatever nr_running says.
                while (p.needMoreWorker() || (self.kthreadShouldStop() && !p.worklistEmpty())) {
                    if (!p.mayStartWorking() && !self.kthreadShouldStop() && p.manageWorkers(this)) {
                        continue;
                    }
                    workerClrFlags(WORKER_PREP);
                    do {
                        processOneWork(p.worklistFirst(), null);
                        processScheduledWorks();
                    } while (p.keepWorking());
                    workerSetFlags(WORKER_PREP);
                    break;
                }
                workerEnterIdle();
                p.lock.spinUnlock();
                idleWait.waitEventInterruptibleTimeout(
                        () -> kicked || (flags & WORKER_DIE) != 0 || self.kthreadShouldStop(), -1);
            }
        } finally {
            self.setWqWorker(null);
            self.setFlags(self.flags() & ~TaskFlags.PF_WQ_WORKER);
            freeWorker();
        }
    }

    /** kfree(worker) as the worker exits; a panicked kernel's memory goes with the kernel instead. */
    void freeWorker() {
        if (mem != 0 && !kernel.panicked()) {
            kernel.mm().kfree(mem);
        }
    }

    /** process_scheduled_works(). Pool lock held. */
    void processScheduledWorks() {
        for (WorkStruct w = scheduled.peekFirst(); w != null; w = scheduled.peekFirst()) {
            processOneWork(w, scheduled);
        }
    }

    /**
     * process_one_work(): runs {@code work}, taken from the head of {@code from} (the pool's worklist when
     * null), unless it still runs on another worker of the pool: then that worker gets it next
     * (non-reentrancy). An exception from the work is an oops and the worker goes on. Pool lock held on
     * entry and exit, dropped while the function runs.
     */
    void processOneWork(WorkStruct work, ArrayDeque<WorkStruct> from) {
        WorkerPool p = pool;
        PoolWorkqueue pwq = work.pwq;
        Worker collision = p.findWorkerExecutingWork(work);
        if (collision != null && collision != this) {
            take(p, work, from);
            work.scheduledOn = collision;
            collision.scheduled.addLast(work);
            return;
        }
        p.busyHash.put(work, this);
        currentWork = work;
        currentPwq = pwq;
        take(p, work, from);
        work.scheduledOn = null;
        work.runningOn = this;
        // CPU-intensive works leave concurrency management to the scheduler.
        boolean cpuIntensive = (pwq.wq().flags() & Workqueue.WQ_CPU_INTENSIVE) != 0;
        if (cpuIntensive) {
            workerSetFlags(WORKER_CPU_INTENSIVE);
        }
        // Chains execution for NOT_RUNNING (unbound, CPU-intensive) workers, where nr_running stays 0.
        if (p.needMoreWorker()) {
            p.wakeUpWorker();
        }
        work.lastPool = p;
        work.pending.set(false);
        p.lock.spinUnlock();
        Task self = task;
        self.setCurrentWork(pwq.wq().name() + " " + work.name());
        try {
            work.func().run();
        } catch (KernelPanic panic) {
            throw panic;
        } catch (Throwable e) {
            kernel.printk("BUG: workqueue " + pwq.wq().name() + ": work " + work.name() + " oopsed on " + self
                    + ": " + e);
            kernel.oops(e);
        } finally {
            self.setCurrentWork(null);
        }
        p.lock.spinLock();
        if (cpuIntensive) {
            workerClrFlags(WORKER_CPU_INTENSIVE);
        }
        p.busyHash.remove(work);
        currentWork = null;
        currentPwq = null;
        if (work.runningOn == this) {
            work.runningOn = null;
        }
        work.doneSeq++;
        pwq.pwqDecNrInFlight();
        work.flushWait.wakeUp();
    }

    private static void take(WorkerPool p, WorkStruct work, ArrayDeque<WorkStruct> from) {
        if (from == null) {
            p.worklistRemove(work);
        } else {
            from.remove(work);
        }
    }

    // ---------------------------------------------------------------- rescuer_thread

    /**
     * rescuer_thread(): idles until a pool whose worker creation stalls sends a mayday for this workqueue,
     * then joins that pool, takes every work of this workqueue off its worklist and runs them; asks again
     * while the pool still needs a worker. Runs the maydays left before it stops.
     */
    void rescuerThread(Task self) {
        self.setFlags(self.flags() | TaskFlags.PF_WQ_WORKER);
        self.setWqWorker(this);
        Workqueue wq = rescueWq;
        Workqueues wqs = kernel.workqueues();
        try {
            for (;;) {
                boolean shouldStop = self.kthreadShouldStop();
                wqs.maydayLock.spinLock();
                for (PoolWorkqueue pwq = wq.maydays.pollFirst(); pwq != null; pwq = wq.maydays.pollFirst()) {
                    pwq.onMayday = false;
                    wqs.maydayLock.spinUnlock();
                    rescue(wqs, wq, pwq);
                    wqs.maydayLock.spinLock();
                }
                wqs.maydayLock.spinUnlock();
                if (shouldStop) {
                    return;
                }
                idleWait.waitEventInterruptibleTimeout(() -> kicked || self.kthreadShouldStop(), -1);
                kicked = false;
            }
        } finally {
            self.setWqWorker(null);
            self.setFlags(self.flags() & ~TaskFlags.PF_WQ_WORKER);
            freeWorker();
        }
    }

    private void rescue(Workqueues wqs, Workqueue wq, PoolWorkqueue pwq) {
        WorkerPool p = pwq.pool();
        p.lock.spinLock();
        pool = p;
        p.slurpWorksOf(pwq, this);
        if (!scheduled.isEmpty()) {
            processScheduledWorks();
            // Back-to-back works relieving memory pressure should not wait MAYDAY_INTERVAL.
            if (p.needToCreateWorker()) {
                wqs.maydayLock.spinLock();
                if (!pwq.onMayday && !wq.destroyed()) {
                    pwq.onMayday = true;
                    wq.maydays.addLast(pwq);
                }
                wqs.maydayLock.spinUnlock();
            }
        }
        // Leave the pool; if it still needs a worker, wake one rather than leave it with none running.
        if (p.needMoreWorker()) {
            p.wakeUpWorker();
        }
        pool = null;
        p.lock.spinUnlock();
    }

    @Override
    public String toString() {
        Task t = task;
        return "worker " + (t == null ? "(starting)" : t.toString());
    }
}
