package dev.reclaimlab.kernel;

import dev.reclaimlab.locking.WaitQueue;
import dev.reclaimlab.locking.Waitable;
import dev.reclaimlab.locking.WakerSink;
import dev.reclaimlab.mm.Gfp;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * struct workqueue_struct (kernel/workqueue.c, as in Linux 4.3): a front that relays works to worker pools
 * through its pool_workqueues. A bound queue has one pwq per CPU, on that CPU's normal or (WQ_HIGHPRI)
 * highpri pool, and queue_work() uses the caller's CPU; a WQ_UNBOUND queue has one pwq on the unbound pool
 * it shares with every queue of equal attributes. Each pwq admits max_active works at a time and delays the
 * rest. A WQ_MEM_RECLAIM queue has a rescuer, a kthread named after the queue, which a stalled pool
 * summons to run the queue's works itself. A WQ_CPU_INTENSIVE queue's works do not count in their per-CPU
 * pool's concurrency. WQ_FREEZABLE is accepted; the emulator has no freezer.
 *
 * <p>Waits on works are declared truthfully to the watchdog (see {@link WorkStruct}); drain_workqueue()
 * is owed by all workers running the queue's works, or, while none runs, by whoever runs a queued one.
 */
public final class Workqueue {
    public static final int WQ_UNBOUND = 1 << 1;
    public static final int WQ_FREEZABLE = 1 << 2;
    public static final int WQ_MEM_RECLAIM = 1 << 3;
    public static final int WQ_HIGHPRI = 1 << 4;
    public static final int WQ_CPU_INTENSIVE = 1 << 5;
    public static final int WQ_MAX_ACTIVE = 512;
    public static final int WQ_DFL_ACTIVE = WQ_MAX_ACTIVE / 2;
    /** queue_work_on()'s "any CPU": the caller's. */
    public static final int WORK_CPU_UNBOUND = -1;
    static final int WQ_NAME_LEN = 24;
    private static final int KNOWN_FLAGS = WQ_UNBOUND | WQ_FREEZABLE | WQ_MEM_RECLAIM | WQ_HIGHPRI | WQ_CPU_INTENSIVE;

    private final Kernel kernel;
    private final String name;
    private final int flags;
    private final int maxActive;
    /** Bound: per CPU. Unbound: the one default pwq (a single NUMA node). */
    private final PoolWorkqueue[] pwqs;
    private volatile Worker rescuer;
    /** wq->maydays, under wq_mayday_lock. */
    final ArrayDeque<PoolWorkqueue> maydays = new ArrayDeque<>();
    private final AtomicInteger nrInFlight = new AtomicInteger();
    private final AtomicInteger nrDrainers = new AtomicInteger();
    private final WaitQueue drainWait;
    private volatile boolean draining;
    private volatile boolean destroyed;

    private Workqueue(Kernel kernel, String name, int flags, int maxActive) {
        this.kernel = kernel;
        this.name = name;
        this.flags = flags;
        this.maxActive = maxActive;
        this.pwqs = new PoolWorkqueue[(flags & WQ_UNBOUND) != 0 ? 1 : kernel.nrCpus()];
        this.drainWait = new WaitQueue("drain_workqueue " + name);
        drainWait.expectWakersFrom(new DrainWakers());
    }

    /**
     * alloc_workqueue(name, flags, max_active): max_active 0 is WQ_DFL_ACTIVE; out of range it is clamped
     * with the kernel's warning. A WQ_MEM_RECLAIM queue starts its rescuer. Sleeps (GFP_KERNEL).
     */
    public static Workqueue allocWorkqueue(Kernel kernel, String name, int flags, int maxActive) {
        if (kernel == null || name == null || name.isEmpty()) {
            throw new IllegalArgumentException("alloc_workqueue: a kernel and a name are required (name " + name + ")");
        }
        if ((flags & ~KNOWN_FLAGS) != 0) {
            throw new IllegalArgumentException("alloc_workqueue(" + name + "): unknown flags 0x"
                    + Integer.toHexString(flags & ~KNOWN_FLAGS));
        }
        String n = name.length() >= WQ_NAME_LEN ? name.substring(0, WQ_NAME_LEN - 1) : name;
        boolean unbound = (flags & WQ_UNBOUND) != 0;
        int lim = unbound ? Math.max(WQ_MAX_ACTIVE, 4 * kernel.nrCpus()) : WQ_MAX_ACTIVE;
        int ma = maxActive == 0 ? WQ_DFL_ACTIVE : maxActive;
        if (ma < 1 || ma > lim) {
            kernel.printk("workqueue: max_active " + ma + " requested for " + n
                    + " is out of range, clamping between 1 and " + lim);
            ma = Math.max(1, Math.min(ma, lim));
        }
        Workqueue wq = new Workqueue(kernel, n, flags, ma);
        Workqueues wqs = kernel.workqueues();
        boolean highpri = (flags & WQ_HIGHPRI) != 0;
        if (unbound) {
            wq.pwqs[0] = new PoolWorkqueue(wqs.getUnboundPool(highpri), wq, ma);
        } else {
            for (int cpu = 0; cpu < wq.pwqs.length; cpu++) {
                wq.pwqs[cpu] = new PoolWorkqueue(wqs.cpuPool(cpu, highpri), wq, ma);
            }
        }
        if ((flags & WQ_MEM_RECLAIM) != 0) {
            try {
                wq.startRescuer();
            } catch (RuntimeException e) {
                if (unbound) {
                    wqs.putUnboundPool(wq.pwqs[0].pool());
                }
                throw e;
            }
        }
        return wq;
    }

    /** The rescuer: alloc_worker() (GFP_KERNEL) and kthread_create(rescuer_thread, "%s", wq->name). */
    private void startRescuer() {
        long mem = kernel.mm().kzalloc(WorkerPool.WORKER_STRUCT_SIZE, Gfp.GFP_KERNEL);
        if (mem == 0) {
            throw new IllegalStateException("alloc_workqueue(" + name + "): -ENOMEM allocating the rescuer");
        }
        Worker r = new Worker(kernel, null, -1, mem, this);
        Task t = kernel.kthreadCreateAtBoot(name, r::rescuerThread);
        r.setTask(t);
        rescuer = r;
        kernel.kthreadStart(t);
    }

    public String name() {
        return name;
    }

    public Kernel kernel() {
        return kernel;
    }

    public int flags() {
        return flags;
    }

    public int maxActive() {
        return maxActive;
    }

    /** The rescuer task of a WQ_MEM_RECLAIM queue, else null. */
    public Task rescuer() {
        Worker r = rescuer;
        return r == null ? null : r.task();
    }

    Worker rescuerWorker() {
        return rescuer;
    }

    boolean destroyed() {
        return destroyed;
    }

    /** Whether this queue's pwq on {@code pool} asked its rescuer for help. */
    boolean onMaydayOf(WorkerPool pool) {
        for (PoolWorkqueue p : pwqs) {
            if (p.pool() == pool && p.onMayday) {
                return true;
            }
        }
        return false;
    }

    /** The worker tasks of the pools this queue uses, and its rescuer: any of them may run its works. */
    public Task[] workers() {
        Set<Task> ts = new LinkedHashSet<>();
        for (PoolWorkqueue p : pwqs) {
            for (Worker w : p.pool().workersView()) {
                ts.add(w.task());
            }
        }
        Task r = rescuer();
        if (r != null) {
            ts.add(r);
        }
        return ts.toArray(new Task[0]);
    }

    /** Whether {@code t} is a worker of a pool this queue uses, or its rescuer. */
    public boolean isWorker(Task t) {
        Worker w = t == null ? null : t.wqWorker();
        if (w == null) {
            return false;
        }
        if (w == rescuer) {
            return true;
        }
        for (PoolWorkqueue p : pwqs) {
            if (w.pool == p.pool()) {
                return true;
            }
        }
        return false;
    }

    /** current_wq_worker() runs a work of this queue (is_chained_work()). */
    private boolean isChainedWork(Task t) {
        Worker w = t.wqWorker();
        PoolWorkqueue p = w == null ? null : w.currentPwq;
        return p != null && p.wq() == this;
    }

    /**
     * queue_work(): queues {@code work} unless it is already pending (then false). A bound queue uses the
     * calling task's CPU, which a preemptible caller may leave between two calls. Never sleeps; callable
     * with spinlocks held.
     */
    public boolean queueWork(WorkStruct work) {
        return queueWorkOn(WORK_CPU_UNBOUND, work);
    }

    /**
     * queue_work_on() (4.3): as {@link #queueWork} but on CPU {@code cpu}'s pool of a bound queue;
     * {@link #WORK_CPU_UNBOUND} means the caller's CPU. An unbound queue ignores the CPU.
     */
    public boolean queueWorkOn(int cpu, WorkStruct work) {
        if (work == null) {
            throw new IllegalArgumentException("queue_work_on(" + name + "): null work");
        }
        if (cpu != WORK_CPU_UNBOUND && !kernel.cpus().exists(cpu)) {
            throw kernel.cpus().noSuchCpu(cpu, "queue_work_on(" + name + ", " + work.name() + ")");
        }
        if (!work.pending.compareAndSet(false, true)) {
            return false;
        }
        try {
            queueWorkPending(Task.current(), cpu, work);
        } catch (RuntimeException e) {
            work.pending.set(false);
            throw e;
        }
        return true;
    }

    /** __queue_work(). */
    private void queueWorkPending(Task cur, int reqCpu, WorkStruct work) {
        if (destroyed) {
            throw new IllegalStateException("queue_work(" + work.name() + "): workqueue " + name + " is destroyed");
        }
        if (draining && !isChainedWork(cur)) {
            throw new IllegalStateException("queue_work(" + work.name() + "): workqueue " + name
                    + " is being drained and " + cur + " is not one of its works");
        }
        int cpu = reqCpu == WORK_CPU_UNBOUND ? cur.cpu() : reqCpu;
        PoolWorkqueue pwq = pwqs[(flags & WQ_UNBOUND) != 0 ? 0 : cpu % pwqs.length];
        // Still running in the pool it last ran in: queue it there, so it never runs twice at once.
        WorkerPool last = work.lastPool;
        WorkerPool pool = null;
        if (last != null && last != pwq.pool()) {
            last.lock.spinLock();
            Worker w = last.findWorkerExecutingWork(work);
            PoolWorkqueue running = w == null ? null : w.currentPwq;
            if (running != null && running.wq() == this) {
                pwq = running;
                pool = last;
            } else {
                last.lock.spinUnlock();
            }
        }
        if (pool == null) {
            pool = pwq.pool();
            pool.lock.spinLock();
        }
        try {
            if (pool.nrWorkers == 0) {
                throw new IllegalStateException("queue_work(" + work.name() + "): the workers of pool " + pool.id()
                        + " (workqueue " + name + ") have exited (kernel closed or panicked)");
            }
            pwq.nrInFlight++;
            nrInFlight.incrementAndGet();
            work.pwq = pwq;
            work.queuedSeq++;
            if (pwq.nrActive < pwq.maxActive) {
                pwq.nrActive++;
                work.delayed = false;
                pool.worklistAdd(work);
            } else {
                work.delayed = true;
                pwq.delayedWorks.addLast(work);
            }
            // insert_work(): wake a worker if none is running.
            if (pool.nrRunning.get() == 0) {
                pool.wakeUpWorker();
            }
        } finally {
            pool.lock.spinUnlock();
        }
    }

    /** One of this queue's works ended (pool lock held). */
    void workEnded() {
        if (nrInFlight.decrementAndGet() == 0) {
            drainWait.wakeUp();
        }
    }

    /**
     * flush_work(): sleeps in D state until the instance of {@code work} queued or running at the call has
     * finished; true if it had to wait. The wait is owed by whoever the work says runs it.
     */
    public static boolean flushWork(WorkStruct work) {
        if (work == null) {
            throw new IllegalArgumentException("flush_work: null work");
        }
        Task t = Task.current();
        Worker me = t.wqWorker();
        if (me != null && me.currentWork == work) {
            throw new IllegalStateException("flush_work(" + work.name() + ") from inside the work on " + t
                    + ": it would wait for itself");
        }
        t.mightSleep("flush_work");
        PoolWorkqueue p = work.pwq;
        WorkerPool pool = p != null ? p.pool() : work.lastPool;
        if (pool == null) {
            return false;
        }
        long target;
        pool.lock.spinLock();
        try {
            if (work.pending.get() && work.pwq != null) {
                target = work.queuedSeq;
            } else if (work.runningOn != null) {
                target = work.doneSeq + 1;
            } else {
                return false;
            }
        } finally {
            pool.lock.spinUnlock();
        }
        work.flushWait.waitEvent(() -> work.doneSeq >= target);
        return true;
    }

    /**
     * drain_workqueue(): sleeps until nothing of this queue is queued or running, works queued meanwhile by
     * its own works included; others may not queue here meanwhile.
     */
    public void drainWorkqueue() {
        Task t = Task.current();
        if (isChainedWork(t)) {
            throw new IllegalStateException("drain_workqueue(" + name + ") from its own worker " + t);
        }
        nrDrainers.incrementAndGet();
        draining = true;
        try {
            drainWait.waitEvent(() -> nrInFlight.get() == 0);
        } finally {
            if (nrDrainers.decrementAndGet() == 0) {
                draining = false;
            }
        }
    }

    /**
     * destroy_workqueue(): drains the queue, stops its rescuer and lets go of its pools (an unbound pool
     * nobody else uses goes with its workers). Queueing afterwards throws.
     */
    public void destroyWorkqueue() {
        if (destroyed) {
            throw new IllegalStateException("destroy_workqueue(" + name + "): already destroyed");
        }
        drainWorkqueue();
        destroyed = true;
        Worker r = rescuer;
        if (r != null && !kernel.kthreadStop(r.task())) {
            throw new IllegalStateException("destroy_workqueue(" + name + "): rescuer " + r.task() + " did not stop");
        }
        if ((flags & WQ_UNBOUND) != 0) {
            kernel.workqueues().putUnboundPool(pwqs[0].pool());
        }
    }

    /** Who ends a drain: all workers running this queue's works, or whoever runs a queued one. */
    private final class DrainWakers implements Waitable {
        @Override
        public String name() {
            return "drain_workqueue " + name;
        }

        @Override
        public void wakers(WakerSink out) {
            List<Task> running = new ArrayList<>(2);
            for (PoolWorkqueue p : pwqs) {
                for (Worker w : p.pool().workersView()) {
                    PoolWorkqueue cp = w.currentPwq;
                    if (cp != null && cp.wq() == Workqueue.this) {
                        running.add(w.task());
                    }
                }
            }
            Worker r = rescuer;
            if (r != null && r.currentPwq != null) {
                running.add(r.task());
            }
            if (!running.isEmpty()) {
                out.all();
                running.forEach(out::add);
                return;
            }
            for (PoolWorkqueue p : pwqs) {
                if (p.nrActive > 0) {
                    p.pool().queuedWakers(out, Workqueue.this);
                    return;
                }
            }
        }
    }

    @Override
    public String toString() {
        return "workqueue " + name + " (" + ((flags & WQ_UNBOUND) != 0 ? "unbound" : "per-cpu")
                + ((flags & WQ_HIGHPRI) != 0 ? ", highpri" : "") + ", max_active " + maxActive
                + (rescuer != null ? ", rescuer" : "") + ")";
    }
}
