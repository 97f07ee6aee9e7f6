package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.trace.WaitEvent;

/**
 * The one waiting protocol of the emulator, as ___wait_event() in include/linux/wait.h and
 * AbstractQueuedSynchronizer do it: publish the wait record, join the primitive's wait list, then loop
 * {set the task state; test the condition inside the record's bracket; schedule}; leave the list and
 * clear the record on every way out, a panic's unwinding included. A primitive supplies only its
 * condition (a try-acquire or a predicate) and, as a {@link Waitable}, who can end the wait.
 *
 * <p>Spinning waits (spinlocks, raw spinlocks, bit spin locks, an emulated CPU) publish a record too, after
 * a short spin, so a spin deadlock is in the watchdog's graph like any other; they test-and-test-and-set,
 * opening the record's bracket only when the lock looks free.
 */
public final class Sleep {
    /** The condition became true. */
    public static final int DONE = 1;
    /** The timeout passed first. */
    public static final int TIMED_OUT = 0;
    /** A fatal signal ended a killable wait: -EINTR. */
    public static final int KILLED = -4;

    /** Spins before a spinner publishes its wait: a short critical section never shows up. */
    static final int SPINS_BEFORE_RECORD = 128;

    private Sleep() {
    }

    /** The condition of a sleep, tested inside the record's bracket; a try-acquire may change state. */
    @FunctionalInterface
    public interface Condition {
        boolean test();
    }

    /** A spin lock's two tests: the cheap look (no state change) and the acquisition. */
    public interface SpinCondition {
        boolean looksFree();

        boolean tryAcquire();
    }

    /**
     * Sleeps until {@code cond} holds. {@code state} is {@link Task#TASK_UNINTERRUPTIBLE},
     * {@link Task#TASK_KILLABLE} (a fatal signal ends it with {@link #KILLED}) or {@link Task#TASK_INTERRUPTIBLE}
     * (idling for work: pass {@link WaitKind#IDLE}). A negative {@code timeoutNanos} waits for ever. Returns
     * {@link #DONE}, {@link #TIMED_OUT} or {@link #KILLED}; throws {@code KernelPanic} once the kernel panicked.
     */
    public static int sleep(Task t, Waitable on, WaitKind kind, int state, long timeoutNanos, WaitList q,
                            Condition cond) {
        long deadline = 0;
        if (timeoutNanos >= 0) {
            deadline = System.nanoTime() + timeoutNanos;
            if (deadline == 0) {
                deadline = 1;
            }
        }
        WaitRecord rec = t.waitRecord();
        rec.publish(on, kind, state, deadline);
        q.add(t);
        WaitEvent ev = new WaitEvent();
        ev.begin();
        boolean done = false;
        int result = KILLED;
        try {
            for (;;) {
                t.setState(state);
                rec.beginUpdate();
                done = cond.test();
                if (done) {
                    rec.clear();
                }
                rec.endUpdate();
                if (done) {
                    result = DONE;
                    return DONE;
                }
                if ((state & Task.TASK_WAKEKILL) != 0 && t.fatalSignalPending()) {
                    result = KILLED;
                    return KILLED;
                }
                if (deadline == 0) {
                    t.schedule();
                } else {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        result = TIMED_OUT;
                        return TIMED_OUT;
                    }
                    t.scheduleTimeout(left);
                }
            }
        } catch (RuntimeException | Error e) {
            result = Integer.MIN_VALUE;
            throw e;
        } finally {
            q.remove(t);
            t.setState(Task.TASK_RUNNING);
            if (!done) {
                rec.clear();
            }
            trace(ev, t, on, kind, state, result);
        }
    }

    private static void trace(WaitEvent ev, Task t, Waitable on, WaitKind kind, int state, int result) {
        ev.end();
        if (ev.shouldCommit()) {
            ev.task = t.toString();
            ev.waitsOn = on.name();
            ev.kind = kind.label();
            ev.state = kind.spins() ? "spinning" : (state & Task.TASK_WAKEKILL) != 0 ? "killable"
                    : (state & Task.TASK_UNINTERRUPTIBLE) != 0 ? "D" : "interruptible";
            ev.outcome = result == DONE ? "done" : result == TIMED_OUT ? "timed out" : result == KILLED ? "killed"
                    : "unwound";
            ev.commit();
        }
    }

    /** A timed sleep that only time ends (a throttle): D state, no condition, no wait list. */
    static void sleepFor(Task t, Waitable on, WaitKind kind, long nanos) {
        WaitRecord rec = t.waitRecord();
        long deadline = System.nanoTime() + Math.max(1, nanos);
        rec.publish(on, kind, Task.TASK_UNINTERRUPTIBLE, deadline);
        try {
            t.setState(Task.TASK_UNINTERRUPTIBLE);
            for (long left = nanos; left > 0; left = deadline - System.nanoTime()) {
                t.scheduleTimeout(left);
            }
        } finally {
            t.setState(Task.TASK_RUNNING);
            rec.clear();
        }
    }

    /**
     * Spins until {@code c.tryAcquire()} succeeds, publishing a record after {@link #SPINS_BEFORE_RECORD}
     * spins when the spinner is a task ({@code t} may be null: a thread outside any kernel spins unseen).
     * {@code panicCheck} unwinds a spinner of a panicked kernel. The caller holds its CPU throughout.
     */
    public static void spin(Task t, Waitable on, WaitKind kind, SpinCondition c) {
        // A spin inside another wait's condition test must not overwrite that wait's record.
        WaitRecord rec = t == null || t.waitRecord().waiting() ? null : t.waitRecord();
        boolean published = false;
        WaitEvent ev = new WaitEvent();
        ev.begin();
        int result = Integer.MIN_VALUE;
        try {
            for (int spins = 0; ; spins++) {
                if (c.looksFree()) {
                    if (published) {
                        rec.beginUpdate();
                    }
                    boolean won = c.tryAcquire();
                    if (published) {
                        if (won) {
                            rec.clear();
                        }
                        rec.endUpdate();
                    }
                    if (won) {
                        published = false;
                        result = DONE;
                        return;
                    }
                }
                if (spins == SPINS_BEFORE_RECORD && rec != null) {
                    rec.publish(on, kind, Task.TASK_RUNNING, 0);
                    published = true;
                }
                if (t != null) {
                    t.kernel().checkPanic();
                }
                if (spins < SPINS_BEFORE_RECORD) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
        } finally {
            if (published) {
                rec.clear();
            }
            if (t != null) {
                trace(ev, t, on, kind, Task.TASK_RUNNING, result);
            }
        }
    }
}
