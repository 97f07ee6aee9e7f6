package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * struct completion (kernel/sched/completion.c): a counted event. Waiters sleep uninterruptibly; the code
 * declares who owes the completion with {@link #expectWaker}, so the watchdog can follow the wait.
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

    private final String name;
    private volatile int done;
    private final ConcurrentLinkedQueue<Task> waiters = new ConcurrentLinkedQueue<>();
    private final DeclaredWakers owedBy = new DeclaredWakers();

    /** init_completion(). */
    public Completion(String name) {
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    /** Declares the task that will complete this (replaces an earlier single declaration). */
    public Completion expectWaker(Task t) {
        owedBy.expect(t);
        return this;
    }

    /** Declares a set of tasks any of which will complete this, e.g. a workqueue's workers. */
    public Completion expectWakers(Task... ts) {
        owedBy.expectAll(ts);
        return this;
    }

    public void clearExpectedWakers() {
        owedBy.clear();
    }

    /** wait_for_completion(): sleeps in D state until a complete() is available, then consumes it. */
    public void waitForCompletion() {
        waitForCompletionTimeout(-1);
    }

    /** wait_for_completion_timeout(): false if {@code nanos} passed first; a negative timeout waits forever. */
    public boolean waitForCompletionTimeout(long nanos) {
        if (tryConsume()) {
            return true;
        }
        Task t = Task.current();
        long deadline = nanos < 0 ? 0 : System.nanoTime() + nanos;
        WaitRecord rec = t.waitRecord();
        rec.publish(this, WaitKind.COMPLETION);
        waiters.add(t);
        boolean got = false;
        try {
            for (;;) {
                t.setState(Task.TASK_UNINTERRUPTIBLE);
                rec.beginUpdate();
                got = tryConsume();
                if (got) {
                    rec.clear();
                }
                rec.endUpdate();
                if (got) {
                    return true;
                }
                if (nanos < 0) {
                    t.schedule();
                } else {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    t.scheduleTimeout(left);
                }
            }
        } finally {
            waiters.remove(t);
            t.setState(Task.TASK_RUNNING);
            if (!got) {
                rec.clear();
            }
        }
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
        wakeAll();
    }

    /** complete_all(): every waiter, present and future, proceeds until {@link #reinitCompletion()}. */
    public void completeAll() {
        done = COMPLETE_ALL;
        wakeAll();
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

    private void wakeAll() {
        if (waiters.isEmpty()) {
            return;
        }
        for (Task w : waiters) {
            w.wakeUpProcess();
        }
    }

    @Override
    public void addWakers(List<Task> out) {
        owedBy.addTo(out);
    }

    @Override
    public String toString() {
        return "completion " + name + (done != 0 ? " (done)" : "");
    }
}
