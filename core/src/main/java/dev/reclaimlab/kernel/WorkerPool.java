package dev.reclaimlab.kernel;

import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.SpinLock;
import dev.reclaimlab.locking.WaitQueue;
import dev.reclaimlab.locking.WakerSink;
import dev.reclaimlab.mm.Gfp;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * struct worker_pool (kernel/workqueue.c, as in Linux 4.3): the workers that run the works of every
 * workqueue linked to it. Per-CPU pools (normal and highpri, ids cpu*2 and cpu*2+1) manage concurrency:
 * only while none of their workers is running is an idle one woken. Unbound pools (shared by workqueues
 * with the same attributes) do not: their workers are WORKER_UNBOUND. A worker that starts on the worklist
 * and finds no idle worker left becomes the manager and creates one first (create_worker(): the struct
 * worker is a GFP_KERNEL allocation, so the manager can enter reclaim); when that takes longer than
 * MAYDAY_INITIAL_TIMEOUT, the mayday timer summons the rescuers of the queues with work waiting here.
 * Idle workers beyond a quarter of the busy ones, and more than two, die after IDLE_WORKER_TIMEOUT.
 *
 * <p>State is under {@link #lock}; the volatile counters and {@link #workersView()} are also read without
 * it, by the scheduler hook (wq_worker_sleeping()) and the watchdog.
 */
final class WorkerPool {
    static final long MAYDAY_INITIAL_TIMEOUT = TimeUnit.MILLISECONDS.toNanos(10);
    static final long MAYDAY_INTERVAL = TimeUnit.MILLISECONDS.toNanos(100);
    static final long CREATE_COOLDOWN = TimeUnit.SECONDS.toNanos(1);
    static final long IDLE_WORKER_TIMEOUT = TimeUnit.SECONDS.toNanos(300);
    static final int MAX_IDLE_WORKERS_RATIO = 4;
    /** About sizeof(struct worker) on x86_64 in 4.3: alloc_worker() kzalloc()s it (kmalloc-192). */
    static final int WORKER_STRUCT_SIZE = 144;
    private static final LockClassKey POOL_LOCK = new LockClassKey("&pool->lock");
    private static final Worker[] NO_WORKERS = new Worker[0];

    private final Kernel kernel;
    private final Workqueues wqs;
    private final int id;
    /** The associated CPU, or -1 for an unbound pool. */
    private final int cpu;
    private final boolean highpri;
    final SpinLock lock;
    private final ArrayDeque<WorkStruct> worklist = new ArrayDeque<>();
    volatile int nrPending;
    /** LIFO: the most recently idle first. */
    private final ArrayDeque<Worker> idleList = new ArrayDeque<>();
    volatile Worker firstIdle;
    volatile int nrIdle;
    volatile int nrWorkers;
    private final List<Worker> workers = new ArrayList<>();
    private volatile Worker[] view = NO_WORKERS;
    final IdentityHashMap<WorkStruct, Worker> busyHash = new IdentityHashMap<>();
    final AtomicInteger nrRunning = new AtomicInteger();
    /** manager_arb: at most one manager. */
    private boolean managerArb;
    private volatile Worker manager;
    /** The mayday timer is armed: a stalled creation will summon rescuers. */
    private volatile boolean maydayArmed;
    private final TimerList maydayTimer;
    private final TimerList idleTimer;
    private final BitSet workerIda = new BitSet();
    private final WaitQueue cooldownWait;
    /** The first worker's task: later workers take its place in Kernel.close()'s stop order, the last. */
    private Task anchor;
    /** Users of an unbound pool (its pwqs); under wq_pool_mutex. */
    int refcnt;

    WorkerPool(Kernel kernel, Workqueues wqs, int id, int cpu, boolean highpri) {
        this.kernel = kernel;
        this.wqs = wqs;
        this.id = id;
        this.cpu = cpu;
        this.highpri = highpri;
        this.lock = new SpinLock("pool " + id + " lock", POOL_LOCK);
        this.maydayTimer = kernel.timers().setupTimer("pool " + id + " mayday_timer", this::poolMaydayTimeout);
        this.idleTimer = kernel.timers().setupTimer("pool " + id + " idle_timer", this::idleWorkerTimeout);
        this.cooldownWait = new WaitQueue("pool " + id + " CREATE_COOLDOWN");
    }

    int id() {
        return id;
    }

    int cpu() {
        return cpu;
    }

    boolean highpri() {
        return highpri;
    }

    boolean unbound() {
        return cpu < 0;
    }

    /** The kworker name prefix of this pool, e.g. "kworker/u8" or "kworker/0:H" style ("kworker/0"). */
    String describe() {
        return unbound() ? "kworker/u" + id : "kworker/" + cpu + (highpri ? " (highpri)" : "");
    }

    /** The attached workers, idle or busy (the manager among them). */
    Worker[] workersView() {
        return view;
    }

    Worker manager() {
        return manager;
    }

    // ---------------------------------------------------------------- the worklist and the idle list (lock held)

    void worklistAdd(WorkStruct work) {
        worklist.addLast(work);
        nrPending = worklist.size();
    }

    void worklistRemove(WorkStruct work) {
        if (worklist.peekFirst() == work) {
            worklist.pollFirst();
        } else {
            worklist.remove(work);
        }
        nrPending = worklist.size();
    }

    WorkStruct worklistFirst() {
        return worklist.peekFirst();
    }

    boolean worklistEmpty() {
        return nrPending == 0;
    }

    void idleAdd(Worker w) {
        idleList.addFirst(w);
        nrIdle = idleList.size();
        firstIdle = w;
        if (tooManyWorkers() && !idleTimer.timerPending()) {
            idleTimer.modTimer(wqs.idleWorkerTimeoutNanos);
        }
    }

    void idleRemove(Worker w) {
        if (idleList.remove(w)) {
            nrIdle = idleList.size();
            firstIdle = idleList.peekFirst();
        }
    }

    /** __need_more_worker() && works queued: nobody is running here and there is work. */
    boolean needMoreWorker() {
        return nrPending > 0 && nrRunning.get() == 0;
    }

    /** may_start_working(): an idle worker is left to take over while this one works. */
    boolean mayStartWorking() {
        return nrIdle > 0;
    }

    /** keep_working(): more work and at most this worker running. */
    boolean keepWorking() {
        return nrPending > 0 && nrRunning.get() <= 1;
    }

    boolean needToCreateWorker() {
        return needMoreWorker() && !mayStartWorking();
    }

    /** too_many_workers(). */
    private boolean tooManyWorkers() {
        int idle = nrIdle + (managerArb ? 1 : 0);
        int busy = nrWorkers - idle;
        return idle > 2 && (idle - 2) * MAX_IDLE_WORKERS_RATIO >= busy;
    }

    /** wake_up_worker(): the first idle worker, if any. */
    void wakeUpWorker() {
        Worker w = firstIdle;
        if (w != null) {
            w.kick();
        }
    }

    /** find_worker_executing_work(). */
    Worker findWorkerExecutingWork(WorkStruct work) {
        return busyHash.get(work);
    }

    /** The rescuer takes every work of {@code pwq} off the worklist onto its scheduled list. */
    void slurpWorksOf(PoolWorkqueue pwq, Worker rescuer) {
        for (Iterator<WorkStruct> it = worklist.iterator(); it.hasNext(); ) {
            WorkStruct w = it.next();
            if (w.pwq == pwq) {
                it.remove();
                w.scheduledOn = rescuer;
                rescuer.scheduled.addLast(w);
            }
        }
        nrPending = worklist.size();
    }

    // ---------------------------------------------------------------- managing workers

    /**
     * manage_workers(): become the manager unless another worker is, and create a worker so one stays
     * idle. True if this worker managed (the caller rechecks), false if someone else manages.
     */
    boolean manageWorkers(Worker w) {
        if (managerArb) {
            return false;
        }
        managerArb = true;
        manager = w;
        try {
            maybeCreateWorker(w.task());
        } finally {
            manager = null;
            managerArb = false;
        }
        return true;
    }

    /**
     * maybe_create_worker(): creates workers until one is idle, retrying after CREATE_COOLDOWN when
     * creation fails; the mayday timer runs meanwhile. Lock held on entry and exit, dropped inside.
     */
    private void maybeCreateWorker(Task self) {
        for (;;) {
            lock.spinUnlock();
            try {
                maydayArmed = true;
                maydayTimer.modTimer(MAYDAY_INITIAL_TIMEOUT);
                for (;;) {
                    if (createWorker() != null || !needToCreateWorker() || self.kthreadShouldStop()) {
                        break;
                    }
                    cooldownWait.waitEventInterruptibleTimeout(self::kthreadShouldStop, CREATE_COOLDOWN);
                    if (!needToCreateWorker()) {
                        break;
                    }
                }
                maydayTimer.delTimerSync();
                maydayArmed = false;
            } finally {
                lock.spinLock();
            }
            // The new worker may already be busy: then another is needed.
            if (!needToCreateWorker() || self.kthreadShouldStop()) {
                return;
            }
        }
    }

    /**
     * create_worker(): an id, the struct worker (kzalloc GFP_KERNEL: may reclaim), the kthread named as
     * the kernel names it, attached and idle. Null if the allocation failed or the kernel is closing.
     * Called without the pool lock.
     */
    Worker createWorker() {
        int wid;
        Task anc;
        lock.spinLock();
        try {
            wid = workerIda.nextClearBit(0);
            workerIda.set(wid);
            anc = anchor;
        } finally {
            lock.spinUnlock();
        }
        long mem = kernel.mm().kzalloc(WORKER_STRUCT_SIZE, Gfp.GFP_KERNEL);
        if (mem == 0) {
            idaRemove(wid);
            return null;
        }
        Worker w = new Worker(kernel, this, wid, mem, null);
        Task t;
        try {
            // Kworkers outlive every other kthread, as the kernel's never stop: close() stops them last.
            t = anc == null ? kernel.kthreadCreateAtBoot(workerName(wid), w::workerThread)
                    : kernel.kthreadCreate(workerName(wid), 0, anc, w::workerThread);
        } catch (IllegalStateException closing) {
            kernel.mm().kfree(mem);
            idaRemove(wid);
            return null;
        }
        w.setTask(t);
        if (cpu >= 0) {
            t.kthreadBind(cpu);
        } else {
            // worker_attach_to_pool() of a DISASSOCIATED (unbound) pool.
            w.flags |= Worker.WORKER_UNBOUND;
        }
        lock.spinLock();
        try {
            if (anchor == null) {
                anchor = t;
            }
            workers.add(w);
            view = workers.toArray(NO_WORKERS);
            nrWorkers++;
            w.workerEnterIdle();
        } finally {
            lock.spinUnlock();
        }
        if (!kernel.kthreadStart(t)) {
            lock.spinLock();
            try {
                workerDetach(w);
            } finally {
                lock.spinUnlock();
            }
            kernel.mm().kfree(mem);
            return null;
        }
        return w;
    }

    private String workerName(int wid) {
        return cpu >= 0 ? "kworker/" + cpu + ":" + wid + (highpri ? "H" : "") : "kworker/u" + id + ":" + wid;
    }

    private void idaRemove(int wid) {
        lock.spinLock();
        try {
            workerIda.clear(wid);
        } finally {
            lock.spinUnlock();
        }
    }

    /** destroy_worker(): an idle worker is told to die. Lock held. */
    void destroyWorker(Worker w) {
        if (w.currentWork != null || !w.scheduled.isEmpty() || (w.flags & Worker.WORKER_IDLE) == 0) {
            return;
        }
        nrWorkers--;
        idleRemove(w);
        w.flags |= Worker.WORKER_DIE;
        w.kick();
    }

    /** A worker leaves the pool (it died, or the kernel stops it). Lock held. */
    void workerDetach(Worker w) {
        if ((w.flags & Worker.WORKER_DIE) == 0) {
            if ((w.flags & Worker.WORKER_IDLE) != 0) {
                idleRemove(w);
            }
            nrWorkers--;
        }
        workers.remove(w);
        view = workers.toArray(NO_WORKERS);
        workerIda.clear(w.id);
    }

    /** idle_worker_timeout(): the longest-idle workers die while there are too many. Timer softirq. */
    private void idleWorkerTimeout() {
        lock.spinLock();
        try {
            while (tooManyWorkers()) {
                Worker w = idleList.peekLast();
                long expires = w.lastActive + wqs.idleWorkerTimeoutNanos;
                long now = System.nanoTime();
                if (now - expires < 0) {
                    idleTimer.modTimer(expires - now);
                    break;
                }
                destroyWorker(w);
            }
        } finally {
            lock.spinUnlock();
        }
    }

    /**
     * pool_mayday_timeout(): creation is still stalled, so every workqueue with a work waiting here gets
     * a mayday (its rescuer is woken); again every MAYDAY_INTERVAL. Timer softirq.
     *
     * <p>Stalled means the manager sleeps (in reclaim, or cooling down after a failed allocation): the
     * kernel goes by time alone, but a manager that is merely slow here is a host thread the host has not
     * scheduled, not a kernel stall, and must not hand the queue's works to its rescuer.
     */
    private void poolMaydayTimeout() {
        lock.spinLock();
        try {
            wqs.maydayLock.spinLock();
            try {
                if (needToCreateWorker() && managerSleeps()) {
                    for (WorkStruct w : worklist) {
                        sendMayday(w);
                    }
                }
            } finally {
                wqs.maydayLock.spinUnlock();
            }
        } finally {
            lock.spinUnlock();
        }
        maydayTimer.modTimer(MAYDAY_INTERVAL);
    }

    private boolean managerSleeps() {
        Worker m = manager;
        Task t = m == null ? null : m.task();
        return t != null && t.state() != Task.TASK_RUNNING;
    }

    /** send_mayday(): puts the work's pwq on its workqueue's maydays and wakes the rescuer. */
    private static void sendMayday(WorkStruct work) {
        PoolWorkqueue pwq = work.pwq;
        Workqueue wq = pwq.wq();
        Worker r = wq.rescuerWorker();
        if (r == null || wq.destroyed()) {
            return;
        }
        if (!pwq.onMayday) {
            pwq.onMayday = true;
            wq.maydays.addLast(pwq);
            r.kick();
        }
    }

    // ---------------------------------------------------------------- who runs a queued work

    /**
     * Who can run a work queued on this pool for {@code wq}: any worker of the pool (an idle one is woken,
     * a busy one takes the next work when it is done, the manager once it has created a worker), and the
     * queue's rescuer while a mayday can reach it (creation is stalling, or it is already here).
     */
    void queuedWakers(WakerSink out, Workqueue wq) {
        for (Worker w : view) {
            out.add(w.task());
        }
        Worker r = wq == null ? null : wq.rescuerWorker();
        if (r != null && !wq.destroyed() && (maydayArmed || r.pool == this || wq.onMaydayOf(this))) {
            out.add(r.task());
        }
    }

    // ---------------------------------------------------------------- put_unbound_pool

    /** put_unbound_pool() once unused: idle workers die, the rest are stopped; the timers go. */
    void destroyPool() {
        Worker[] left;
        lock.spinLock();
        try {
            for (Worker w = firstIdle; w != null; w = firstIdle) {
                destroyWorker(w);
            }
            left = view;
        } finally {
            lock.spinUnlock();
        }
        for (Worker w : left) {
            if (!kernel.kthreadStop(w.task())) {
                throw new IllegalStateException("destroy pool " + id + ": " + w + " did not exit");
            }
        }
        maydayTimer.delTimerSync();
        idleTimer.delTimerSync();
        kernel.timers().forget(maydayTimer);
        kernel.timers().forget(idleTimer);
    }

    @Override
    public String toString() {
        return "pool " + id + " (" + describe() + ", " + nrWorkers + " workers, " + nrIdle + " idle, " + nrPending
                + " queued)";
    }
}
