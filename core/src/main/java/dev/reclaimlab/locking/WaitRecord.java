package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;

/**
 * What a task waits on, how it sleeps, since when and until when, and (through the primitive) who can end
 * the wait: the emulator's task->blocked_on with the task state beside it. Only the task writes it
 * ({@link Sleep} does, for every primitive); the watchdog reads it from another thread.
 *
 * <p>A seqlock keeps the reader's view consistent with the primitive's owners: a waiter brackets each
 * acquisition attempt with {@link #beginUpdate()}/{@link #endUpdate()} and clears the record inside the
 * bracket when it wins, so a reader never sees a task waiting on a lock it already owns. A spinner only
 * opens the bracket when the lock looks free, so a spin deadlock reads as steadily as a sleeping one.
 */
public final class WaitRecord {
    private static final int MAX_READ_RETRIES = 1_000;

    private final Task task;
    // All volatile: writes happen only on slow paths, and SC keeps the seqlock argument short.
    private volatile int seq;
    private volatile Waitable on;
    private volatile WaitKind kind;
    private volatile int state;
    private volatile long sinceNanos;
    private volatile long deadlineNanos;

    public WaitRecord(Task task) {
        this.task = task;
    }

    public Task task() {
        return task;
    }

    /**
     * Starts a wait on {@code w}: what, in which task state ({@code Task.TASK_UNINTERRUPTIBLE},
     * {@code TASK_KILLABLE}, {@code TASK_INTERRUPTIBLE}, or {@code TASK_RUNNING} for a spinner), since now,
     * and until {@code deadlineNanos} (System.nanoTime(); 0 for a wait without timeout).
     */
    void publish(Waitable w, WaitKind k, int taskState, long deadline) {
        int s = seq;
        seq = s + 1;
        on = w;
        kind = k;
        state = taskState;
        sinceNanos = System.nanoTime();
        deadlineNanos = deadline;
        seq = s + 2;
    }

    /** Opens a bracket around an acquisition attempt; readers retry while it is open. */
    void beginUpdate() {
        seq = seq + 1;
    }

    void endUpdate() {
        seq = seq + 1;
    }

    /** Ends the wait; inside a bracket or on its own. */
    void clear() {
        int s = seq;
        boolean bracket = (s & 1) != 0;
        if (!bracket) {
            seq = s + 1;
        }
        on = null;
        kind = null;
        if (!bracket) {
            seq = s + 2;
        }
    }

    /** Whether the task is in a wait now (racy, for the task itself and for tests). */
    public boolean waiting() {
        return on != null;
    }

    /**
     * A consistent view of the record with the primitive's wakers at the same instant, or null when the task
     * waits on nothing, or the record kept changing under the reader (then nothing can be proven of it).
     */
    public Snapshot snapshot() {
        Wakers.Collector c = new Wakers.Collector(task);
        for (int i = 0; i < MAX_READ_RETRIES; i++) {
            int s1 = seq;
            if ((s1 & 1) != 0) {
                Thread.onSpinWait();
                continue;
            }
            Waitable w = on;
            WaitKind k = kind;
            int st = state;
            long since = sinceNanos;
            long deadline = deadlineNanos;
            c.reset();
            if (w != null) {
                w.wakers(c);
            }
            if (seq == s1) {
                return w == null || k == null ? null : new Snapshot(task, w, k, st, since, deadline, c.build());
            }
        }
        return null;
    }

    /** One consistent reading of a wait record. */
    public record Snapshot(Task task, Waitable on, WaitKind kind, int state, long sinceNanos, long deadlineNanos,
                           Wakers wakers) {
        /** Whether the wait ends by itself at a deadline (a timed wait proves nothing). */
        public boolean timed() {
            return deadlineNanos != 0;
        }

        /** TASK_KILLABLE: a fatal signal would end it; the kernel's hung-task check skips it. */
        public boolean killable() {
            return (state & Task.TASK_WAKEKILL) != 0;
        }

        /** "mutex i_mutex (class &type->i_mutex_key)" */
        public String describe() {
            String cls = on instanceof Lockable ? " (class " + ((Lockable) on).depMap().className() + ")" : "";
            return kind.label() + " " + on.name() + cls;
        }

        /** The kernel's one-letter state: D, R (spinning), S (idle). */
        public char stateChar() {
            if (kind.spins()) {
                return 'R';
            }
            return (state & Task.TASK_UNINTERRUPTIBLE) != 0 ? 'D' : 'S';
        }

        @Override
        public String toString() {
            return task + " waits on " + describe() + " wakers " + wakers;
        }
    }
}
