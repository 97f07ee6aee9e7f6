package dev.reclaimlab.kernel;

import dev.reclaimlab.locking.HeldLocks;
import dev.reclaimlab.locking.WaitRecord;

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
    public static final int TASK_DEAD = 0x80;

    private static final ThreadLocal<Task> CURRENT = new ThreadLocal<>();

    private final Kernel kernel;
    private final int pid;
    private final String comm;
    private final Thread thread;
    private int flags;
    private volatile int state = TASK_RUNNING;

    // get_cpu()/put_cpu(): the emulated CPU this task last ran on and its preempt count.
    private int cpu;
    private int preemptCount;

    // kthread bookkeeping.
    private volatile boolean shouldStop;

    // task->nr_dirtied: pages dirtied since balance_dirty_pages() last looked.
    private int nrDirtied;

    // Why this task's last allocation failed (warn_alloc's facts); see dev.reclaimlab.mm.AllocFailure.
    private int allocFailGfp;
    private int allocFailOrder;
    private int allocFailReason;

    // dev.reclaimlab.locking: lockdep's held-lock stack and what the task sleeps on (for the watchdog).
    private final HeldLocks heldLocks = new HeldLocks();
    private final WaitRecord waitRecord = new WaitRecord(this);

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
        if (preemptCount++ > 0) {
            return cpu;
        }
        int c = kernel.cpus().acquire(cpu, pid);
        cpu = c;
        return c;
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
        if (c < 0 || c >= kernel.nrCpus()) {
            throw new IllegalArgumentException("runOnCpu: CPU" + c + " does not exist (nr_cpus " + kernel.nrCpus() + ")");
        }
        if (preemptCount != 0) {
            throw new IllegalStateException("BUG: runOnCpu(" + c + ") from atomic context in " + this);
        }
        kernel.cpus().acquireExact(c, pid);
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
     * condition, as kernel code does. Throws {@link KernelPanic} once the kernel panicked.
     */
    public void schedule() {
        checkMaySleep();
        LockSupport.park(this);
        kernel.checkPanic();
    }

    /** schedule_timeout(): as {@link #schedule()} but for at most {@code nanos}. */
    public void scheduleTimeout(long nanos) {
        checkMaySleep();
        LockSupport.parkNanos(this, nanos);
        kernel.checkPanic();
    }

    /** wake_up_process(). */
    public void wakeUpProcess() {
        LockSupport.unpark(thread);
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

    public int nrDirtied() {
        return nrDirtied;
    }

    public void setNrDirtied(int n) {
        this.nrDirtied = n;
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

    /** What the task sleeps on and since when; the watchdog builds its wait-for graph from these. */
    public WaitRecord waitRecord() {
        return waitRecord;
    }

    @Override
    public String toString() {
        return comm + ":" + pid;
    }
}
