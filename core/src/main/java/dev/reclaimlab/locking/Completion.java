package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * struct completion (kernel/sched/completion.c): a counted event over a wait queue. Waiters sleep in D
 * state; the code declares who owes the completion with {@link #expectWaker}, so the watchdog can follow
 * the wait.
 */
public final class Completion implements Waitable {
    /** UINT_MAX / 2 in the kernel: complete_all() leaves done at this value. */
    private static final int COMPLETE_ALL = Integer.MAX_VALUE / 2;
    private static final VarHandle DONE;

    static {
        try {
            DONE = MethodHandles.lookup().findVarHandle(Completion.class, "done", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private volatile int done;
    private final WaitQueue wait;

    /** init_completion(). */
    public Completion(String name) {
        this.wait = new WaitQueue(name);
    }

    @Override
    public String name() {
        return wait.name();
    }

    /** Declares the task that will complete this (replaces an earlier declaration). */
    public Completion expectWaker(Task t) {
        wait.expectWaker(t);
        return this;
    }

    /** Declares a set of tasks any of which will complete this, e.g. a workqueue's workers. */
    public Completion expectWakers(Task... ts) {
        wait.expectWakers(ts);
        return this;
    }

    /** Declares that {@code source} knows, whenever asked, who will complete this (a bio's holder). */
    public Completion expectWakersFrom(Waitable source) {
        wait.expectWakersFrom(source);
        return this;
    }

    public void clearExpectedWakers() {
        wait.clearExpectedWakers();
    }

    /** wait_for_completion(): sleeps in D state until a complete() is available, then consumes it. */
    public void waitForCompletion() {
        waitForCompletionTimeout(-1);
    }

    /** wait_for_completion_timeout(): false if {@code nanos} passed first; a negative timeout waits forever. */
    public boolean waitForCompletionTimeout(long nanos) {
        return waitCommon(nanos, Task.TASK_UNINTERRUPTIBLE) == Sleep.DONE;
    }

    /** wait_for_completion_killable(): 0, or -EINTR once a fatal signal is pending. */
    public int waitForCompletionKillable() {
        return waitCommon(-1, Task.TASK_KILLABLE) == Sleep.KILLED ? Sleep.KILLED : 0;
    }

    private int waitCommon(long nanos, int state) {
        Task t = Task.current();
        t.mightSleep("wait_for_completion");
        if (tryConsume()) {
            return Sleep.DONE;
        }
        return Sleep.sleep(t, this, WaitKind.COMPLETION, state, nanos, waitList(), this::tryConsume);
    }

    private WaitList waitList() {
        return wait.list();
    }

    /** try_wait_for_completion(): consumes a completion without sleeping. */
    public boolean tryWaitForCompletion() {
        return tryConsume();
    }

    /** completion_done(). */
    public boolean completionDone() {
        return done != 0;
    }

    /** complete(): one waiter (present or future) may proceed. Wakes all; they recheck, one consumes. */
    public void complete() {
        for (;;) {
            int d = done;
            if (d == COMPLETE_ALL || DONE.compareAndSet(this, d, d + 1)) {
                break;
            }
        }
        wait.wakeUp();
    }

    /** complete_all(): every waiter, present and future, proceeds until {@link #reinitCompletion()}. */
    public void completeAll() {
        done = COMPLETE_ALL;
        wait.wakeUp();
    }

    /** reinit_completion(): back to not done; the declared wakers stay. */
    public void reinitCompletion() {
        done = 0;
    }

    private boolean tryConsume() {
        for (;;) {
            int d = done;
            if (d == 0) {
                return false;
            }
            if (d == COMPLETE_ALL || DONE.compareAndSet(this, d, d - 1)) {
                return true;
            }
        }
    }

    @Override
    public void wakers(WakerSink out) {
        wait.wakers(out);
    }

    @Override
    public String toString() {
        return "completion " + name() + (done != 0 ? " (done)" : "");
    }
}
