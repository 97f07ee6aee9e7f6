package dev.reclaimlab.kernel;

import dev.reclaimlab.locking.HeldLocks;
import dev.reclaimlab.locking.Sleep;
import dev.reclaimlab.locking.ThrottleAccount;
import dev.reclaimlab.locking.WaitKind;
import dev.reclaimlab.locking.WaitRecord;
import dev.reclaimlab.locking.Waitable;
import dev.reclaimlab.locking.WakerSink;
import dev.reclaimlab.mm.BackingDevInfo;

import java.util.concurrent.locks.LockSupport;

/**
 * The emulated task_struct: one per platform thread per kernel. Kernel threads are made by
 * {@link Kernel#kthreadRun}; any other thread that calls into a kernel gets a task attached on first use
 * ({@link Kernel#currentTask()}).
 *
 * <p>Like the kernel's, {@link #flags()} is written only by the task itself (memalloc scopes, reclaim),
 * so plain fields suffice; other threads (the watchdog) read them racily, as /proc does.
 */
public final class Task {
    /** TASK_COMM_LEN - 1: comm is truncated as set_task_comm() truncates it. */
    public static final int TASK_COMM_LEN = 16;

    public static final int TASK_RUNNING = 0;
    public static final int TASK_INTERRUPTIBLE = 1;
    public static final int TASK_UNINTERRUPTIBLE = 2;
    public static final int TASK_DEAD = 64;
    /** Wake on a fatal signal. */
    public static final int TASK_WAKEKILL = 128;
    /** TASK_WAKEKILL | TASK_UNINTERRUPTIBLE: D state that SIGKILL ends (wait_on_bit_killable()). */
    public static final int TASK_KILLABLE = TASK_WAKEKILL | TASK_UNINTERRUPTIBLE;

    private static final ThreadLocal<Task> CURRENT = new ThreadLocal<>();

    private final Kernel kernel;
    private final int pid;
    private final String comm;
    private final Thread thread;
    private int flags;
    private volatile int state = TASK_RUNNING;

    // get_cpu()/put_cpu(): the emulated CPU this task last ran on and its preempt count.
    private int cpu;
    // kthread_bind()'s: get_cpu() never moves the task off cpu.
    private boolean bound;
    private int preemptCount;

    // kthread bookkeeping.
    private volatile boolean shouldStop;
    private volatile boolean fatalSignal;
    // nvcsw: voluntary context switches, as khungtaskd's switch count reads them.
    private volatile long nvcsw;
    // print_worker_info(): "wq-name work" while a workqueue worker runs a work.
    private volatile String currentWork;
    // kthread_data() of a PF_WQ_WORKER: the worker whose concurrency count schedule() keeps.
    private volatile Worker wqWorker;

    // task->nr_dirtied: pages dirtied since balance_dirty_pages() last looked.
    private int nrDirtied;
    // current->backing_dev_info: the device a buffered write is dirtying, null outside one.
    private volatile BackingDevInfo backingDevInfo;

    // task->make_it_fail: fault injection with task-filter fails only this task's calls.
    private volatile boolean makeItFail;

    // Why this task's last allocation failed (warn_alloc's facts); see dev.reclaimlab.mm.AllocFailure.
    private int allocFailGfp;
    private int allocFailOrder;
    private int allocFailReason;

    // dev.reclaimlab.locking: lockdep's held-lock stack and what the task sleeps on (for the watchdog).
    private final HeldLocks heldLocks = new HeldLocks();
    private final WaitRecord waitRecord = new WaitRecord(this);
    private final ThrottleAccount throttleAccount = new ThrottleAccount();

    Task(Kernel kernel, int pid, String comm, Thread thread, int flags, int cpu) {
        this.kernel = kernel;
        this.pid = pid;
        this.comm = comm.length() >= TASK_COMM_LEN ? comm.substring(0, TASK_COMM_LEN - 1) : comm;
        this.thread = thread;
        this.flags = flags;
        this.cpu = cpu;
    }

    /**
     * The task the calling thread runs as: the last one bound by {@link Kernel#currentTask()} or a kthread.
     * Throws when the thread never entered a kernel.
     */
    public static Task current() {
        Task t = CURRENT.get();
        if (t == null) {
            throw new IllegalStateException("thread '" + Thread.currentThread().getName()
                    + "' is not a kernel task: call Kernel.currentTask() first");
        }
        return t;
    }

    /** The current task if the thread is bound to {@code k}, else null; no allocation. */
    static Task currentIn(Kernel k) {
        Task t = CURRENT.get();
        return t != null && t.kernel == k ? t : null;
    }

    /** The calling thread's task if it is bound to any kernel, else null (for spinners that may be outside one). */
    public static Task currentOrNull() {
        return CURRENT.get();
    }

    static void bind(Task t) {
        CURRENT.set(t);
    }

    public Kernel kernel() {
        return kernel;
    }

    public int pid() {
        return pid;
    }

    public String comm() {
        return comm;
    }

    public Thread thread() {
        return thread;
    }

    public int flags() {
        return flags;
    }

    /** Sets the whole flag word; only the task itself may call it (current->flags). */
    public void setFlags(int newFlags) {
        checkCurrent("setFlags");
        this.flags = newFlags;
    }

    public boolean isKthread() {
        return (flags & TaskFlags.PF_KTHREAD) != 0;
    }

    public int state() {
        return state;
    }

    /** set_current_state(): published with release semantics so the watchdog sees a consistent record. */
    public void setState(int s) {
        this.state = s;
    }

    /** The workqueue and work this worker runs now ("kloopd1 loop_queue_read_work"), or null. */
    public String currentWork() {
        return currentWork;
    }

    /** Set by a workqueue worker around each work it runs. */
    public void setCurrentWork(String wqAndWork) {
        this.currentWork = wqAndWork;
    }

    /** The workqueue worker this task is (set by the worker itself), or null. */
    Worker wqWorker() {
        return wqWorker;
    }

    void setWqWorker(Worker w) {
        this.wqWorker = w;
    }

    /**
     * kthread_bind(): a per-CPU pool's worker runs on its pool's CPU and never migrates, so get_cpu()
     * waits for that CPU rather than taking another. Before the thread starts.
     */
    void kthreadBind(int c) {
        this.cpu = c;
        this.bound = true;
    }

    /**
     * set_cpus_allowed_ptr() to the single CPU {@code c}, for the calling task: it moves to {@code c} and
     * from then on waits for that CPU rather than migrating, as a kthread_bind() worker does.
     */
    public void setCpusAllowed(int c) {
        if (!kernel.cpus().exists(c)) {
            throw kernel.cpus().noSuchCpu(c, "set_cpus_allowed(" + this + ")");
        }
        if (currentOrNull() != this) {
            throw new IllegalStateException("set_cpus_allowed(" + this + "): only the task itself may move itself");
        }
        if (preemptCount != 0) {
            throw new IllegalStateException("BUG: set_cpus_allowed() from atomic context in " + this);
        }
        kthreadBind(c);
    }

    /** nvcsw: how often the task went to sleep and ran again. */
    public long nvcsw() {
        return nvcsw;
    }

    /** smp_processor_id(): the CPU this task runs (or last ran) on. */
    public int cpu() {
        return cpu;
    }

    public int preemptCount() {
        return preemptCount;
    }

    /**
     * get_cpu(): disables preemption, i.e. takes an emulated CPU, and returns its number. Nests; each call
     * needs a {@link #putCpu()}. The task must not sleep until the matching put.
     */
    public int getCpu() {
        if (preemptCount > 0) {
            preemptCount++;
            return cpu;
        }
        if (!kernel.cpus().tryAcquire(cpu, pid)) {
            cpu = waitForCpu(bound ? cpu : -1);
        }
        preemptCount = 1;
        return cpu;
    }

    /**
     * Spins, with a wait record naming the CPUs' holders, until {@code want} (or any CPU for -1) is free:
     * the holders are inside short non-preemptible sections, unless one of them is deadlocked.
     */
    private int waitForCpu(int want) {
        Cpus cpus = kernel.cpus();
        int[] got = {-1};
        Sleep.spin(this, new CpuWait(want), WaitKind.CPU, new Sleep.SpinCondition() {
            @Override
            public boolean looksFree() {
                return cpus.looksFree(want, pid);
            }

            @Override
            public boolean tryAcquire() {
                got[0] = cpus.tryAcquireAny(want, cpu, pid);
                return got[0] >= 0;
            }
        });
        return got[0];
    }

    /** An emulated CPU as something to wait for: its holder (or, for any CPU, every holder) can free it. */
    private final class CpuWait implements Waitable {
        private final int want;

        CpuWait(int want) {
            this.want = want;
        }

        @Override
        public String name() {
            return want < 0 ? "any CPU" : "CPU" + want;
        }

        @Override
        public void wakers(WakerSink out) {
            Cpus cpus = kernel.cpus();
            for (int c = want < 0 ? 0 : want; c < (want < 0 ? cpus.nrCpus() : want + 1); c++) {
                long h = cpus.holder(c);
                if (h != 0) {
                    out.add(kernel.findTaskByPid((int) h));
                }
            }
        }
    }

    /** put_cpu(): enables preemption again. */
    public void putCpu() {
        int pc = --preemptCount;
        if (pc == 0) {
            kernel.cpus().release(cpu);
        } else if (pc < 0) {
            preemptCount = 0;
            throw new IllegalStateException("BUG: put_cpu() without get_cpu() in " + this);
        }
    }

    /**
     * Runs {@code fn} on CPU {@code c} with preemption disabled, waiting for that CPU if it is busy: the
     * emulator's smp_call_function_single() for per-CPU work such as drain_all_pages().
     */
    public void runOnCpu(int c, Runnable fn) {
        if (!kernel.cpus().exists(c)) {
            throw kernel.cpus().noSuchCpu(c, "runOnCpu");
        }
        if (preemptCount != 0) {
            throw new IllegalStateException("BUG: runOnCpu(" + c + ") from atomic context in " + this);
        }
        if (!kernel.cpus().tryAcquire(c, pid)) {
            waitForCpu(c);
        }
        int last = cpu;
        cpu = c;
        preemptCount = 1;
        try {
            fn.run();
        } finally {
            preemptCount = 0;
            cpu = last;
            kernel.cpus().release(c);
        }
    }

    /** Whether a kernel thread was asked to stop (kthread_should_stop()). */
    public boolean kthreadShouldStop() {
        return shouldStop;
    }

    void requestStop() {
        shouldStop = true;
        wakeUpProcess();
    }

    /**
     * schedule(): sleeps until {@link #wakeUpProcess()}; may return spuriously, so callers loop on their
     * condition, as kernel code does. Throws {@link KernelPanic} once the kernel panicked. A per-CPU
     * workqueue worker that goes to sleep leaves its pool's concurrency count (wq_worker_sleeping()), so
     * the pool can wake another worker for its queued works.
     */
    public void schedule() {
        checkMaySleep();
        Worker w = wqWorker;
        boolean counted = w != null && state != TASK_RUNNING && w.wqWorkerSleeping();
        LockSupport.park(this);
        if (counted) {
            w.wqWorkerWakingUp();
        }
        nvcsw++;
        kernel.checkPanic();
    }

    /** schedule_timeout(): as {@link #schedule()} but for at most {@code nanos}. */
    public void scheduleTimeout(long nanos) {
        checkMaySleep();
        Worker w = wqWorker;
        boolean counted = w != null && state != TASK_RUNNING && w.wqWorkerSleeping();
        LockSupport.parkNanos(this, nanos);
        if (counted) {
            w.wqWorkerWakingUp();
        }
        nvcsw++;
        kernel.checkPanic();
    }

    /**
     * wake_up_process() / try_to_wake_up(): the task is runnable again (TASK_RUNNING) until it sets its
     * state to sleep once more, so a woken task that has not run yet is never seen as stuck.
     */
    public void wakeUpProcess() {
        if (state != TASK_DEAD) {
            state = TASK_RUNNING;
        }
        LockSupport.unpark(thread);
    }

    /**
     * might_sleep(): a sleeping acquisition from atomic context is a bug even when it would not have to
     * wait this time.
     */
    public void mightSleep(String what) {
        if (preemptCount != 0) {
            throw new IllegalStateException("BUG: sleeping function called from invalid context: " + what + " by "
                    + comm + "/" + pid + " at preempt_count " + preemptCount);
        }
    }

    /** send_sig(SIGKILL): killable waits of this task end with -EINTR from now on. */
    public void sendFatalSignal() {
        fatalSignal = true;
        wakeUpProcess();
    }

    /** fatal_signal_pending(current). */
    public boolean fatalSignalPending() {
        return fatalSignal;
    }

    private void checkMaySleep() {
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("schedule() called for " + this + " from thread '"
                    + Thread.currentThread().getName() + "'");
        }
        if (preemptCount != 0) {
            throw new IllegalStateException("BUG: scheduling while atomic: " + comm + "/" + pid
                    + "/0x" + Integer.toHexString(preemptCount));
        }
        kernel.checkPanic();
    }

    private void checkCurrent(String what) {
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException(what + " on " + this + " from another thread '"
                    + Thread.currentThread().getName() + "': only current may change its own flags");
        }
    }

    /** /proc/PID/make-it-fail: fault capabilities with task-filter set fail only tasks that have this. */
    public boolean makeItFail() {
        return makeItFail;
    }

    public void setMakeItFail(boolean on) {
        this.makeItFail = on;
    }

    public int nrDirtied() {
        return nrDirtied;
    }

    public void setNrDirtied(int n) {
        this.nrDirtied = n;
    }

    /** current->backing_dev_info: the bdi the task's buffered write dirties, or null. */
    public BackingDevInfo backingDevInfo() {
        return backingDevInfo;
    }

    /**
     * Sets current->backing_dev_info (null clears it), as a filesystem's buffered write does around its
     * copy ("we can write back this queue in page reclaim"); returns the previous value to restore. Only the
     * task itself may set it.
     */
    public BackingDevInfo setBackingDevInfo(BackingDevInfo bdi) {
        if (Task.currentOrNull() != this) {
            throw new IllegalStateException("setBackingDevInfo: " + this + " is not the current task ("
                    + Task.currentOrNull() + ")");
        }
        BackingDevInfo old = backingDevInfo;
        backingDevInfo = bdi;
        return old;
    }

    public void recordAllocFailure(int gfp, int order, int reason) {
        this.allocFailGfp = gfp;
        this.allocFailOrder = order;
        this.allocFailReason = reason;
    }

    public int allocFailGfp() {
        return allocFailGfp;
    }

    public int allocFailOrder() {
        return allocFailOrder;
    }

    public int allocFailReason() {
        return allocFailReason;
    }

    /** Lockdep's held-lock stack (task_struct::held_locks). */
    public HeldLocks heldLocks() {
        return heldLocks;
    }

    /** Where the task slept in throttles, and for how long. */
    public ThrottleAccount throttleAccount() {
        return throttleAccount;
    }

    /**
     * do_exit()'s "exited with preempt_count": a task that ends (an oops, a panic's unwinding) while it
     * holds an emulated CPU gives the CPU back, so the other tasks and close() can go on. Returns the
     * preempt count it had.
     */
    int exitCpu() {
        int pc = preemptCount;
        if (pc > 0) {
            preemptCount = 0;
            kernel.cpus().release(cpu);
        }
        return pc;
    }

    /** What the task sleeps on and since when; the watchdog builds its wait-for graph from these. */
    public WaitRecord waitRecord() {
        return waitRecord;
    }

    @Override
    public String toString() {
        return comm + ":" + pid;
    }
}
