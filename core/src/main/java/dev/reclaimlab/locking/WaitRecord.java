package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;

import java.util.ArrayList;
import java.util.List;

/**
 * What a task is sleeping on, since when, and (through the primitive) who can wake it: the emulator's
 * task->blocked_on. Only the task writes it; the watchdog reads it from another thread.
 *
 * <p>A seqlock keeps the reader's view consistent with the primitive's owners: a waiter brackets each
 * acquisition attempt with {@link #beginUpdate()}/{@link #endUpdate()} and clears the record inside the
 * bracket when it wins, so a reader never sees a task waiting on a lock it already owns.
 */
public final class WaitRecord {
    private static final int MAX_READ_RETRIES = 1_000;

    private final Task task;
    // All volatile: writes happen only on slow paths, and SC keeps the seqlock argument short.
    private volatile int seq;
    private volatile Waitable on;
    private volatile WaitKind kind;
    private volatile long sinceNanos;

    public WaitRecord(Task task) {
        this.task = task;
    }

    public Task task() {
        return task;
    }

    /** Starts a wait on {@code w}: publishes what, and since when. */
    public void publish(Waitable w, WaitKind k) {
        int s = seq;
        seq = s + 1;
        on = w;
        kind = k;
        sinceNanos = System.nanoTime();
        seq = s + 2;
    }

    /** Opens a bracket around an acquisition attempt; readers retry while it is open. */
    public void beginUpdate() {
        seq = seq + 1;
    }

    public void endUpdate() {
        seq = seq + 1;
    }

    /** Ends the wait; inside a bracket or on its own. */
    public void clear() {
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
     * waits on nothing (or the record kept changing under the reader).
     */
    public Snapshot snapshot() {
        List<Task> wakers = new ArrayList<>(2);
        for (int i = 0; i < MAX_READ_RETRIES; i++) {
            int s1 = seq;
            if ((s1 & 1) != 0) {
                Thread.onSpinWait();
                continue;
            }
            Waitable w = on;
            WaitKind k = kind;
            long since = sinceNanos;
            wakers.clear();
            if (w != null) {
                w.addWakers(wakers);
            }
            if (seq == s1) {
                return w == null || k == null ? null : new Snapshot(task, w, k, since, List.copyOf(wakers));
            }
        }
        return null;
    }

    /** One consistent reading of a wait record. */
    public static final class Snapshot {
        private final Task task;
        private final Waitable on;
        private final WaitKind kind;
        private final long sinceNanos;
        private final List<Task> wakers;

        Snapshot(Task task, Waitable on, WaitKind kind, long sinceNanos, List<Task> wakers) {
            this.task = task;
            this.on = on;
            this.kind = kind;
            this.sinceNanos = sinceNanos;
            this.wakers = wakers;
        }

        public Task task() {
            return task;
        }

        public Waitable on() {
            return on;
        }

        public WaitKind kind() {
            return kind;
        }

        public long sinceNanos() {
            return sinceNanos;
        }

        public List<Task> wakers() {
            return wakers;
        }

        /** "mutex i_mutex (class &type->i_mutex_key)" */
        public String describe() {
            String cls = on instanceof Lockable ? " (class " + ((Lockable) on).depMap().className() + ")" : "";
            return kind.label() + " " + on.name() + cls;
        }

        @Override
        public String toString() {
            return task + " waits on " + describe() + " wakers " + wakers;
        }
    }
}
