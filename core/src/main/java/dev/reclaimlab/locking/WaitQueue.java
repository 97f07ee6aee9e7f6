package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;

import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.BooleanSupplier;

/**
 * wait_queue_head_t (kernel/sched/wait.c) with wait_event()/wake_up(). The condition's state must be
 * published with a volatile or atomic write before {@link #wakeUp()}: a waiter enqueues itself, then
 * rechecks the condition, so the wake-up cannot be lost.
 */
public final class WaitQueue implements Waitable {
    private final String name;
    private final ConcurrentLinkedQueue<Task> waiters = new ConcurrentLinkedQueue<>();
    private final DeclaredWakers owedBy = new DeclaredWakers();

    /** init_waitqueue_head(). */
    public WaitQueue(String name) {
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    /** Declares the task that will make the condition true and wake this queue. */
    public WaitQueue expectWaker(Task t) {
        owedBy.expect(t);
        return this;
    }

    /** Declares a set of tasks any of which will wake this queue. */
    public WaitQueue expectWakers(Task... ts) {
        owedBy.expectAll(ts);
        return this;
    }

    public void clearExpectedWakers() {
        owedBy.clear();
    }

    /** wait_event(): sleeps in D state until {@code condition} holds. */
    public void waitEvent(BooleanSupplier condition) {
        waitEventTimeout(condition, -1);
    }

    /** wait_event_timeout(): false if {@code nanos} passed with the condition still false; negative = forever. */
    public boolean waitEventTimeout(BooleanSupplier condition, long nanos) {
        return waitEventCommon(condition, nanos, WaitKind.WAITQUEUE, Task.TASK_UNINTERRUPTIBLE);
    }

    /**
     * wait_event_interruptible_timeout() for a thread idling until there is work (kswapd, a flusher): the
     * watchdog counts it neither as blocked nor as busy. Negative {@code nanos} waits for ever.
     */
    public boolean waitEventInterruptibleTimeout(BooleanSupplier condition, long nanos) {
        return waitEventCommon(condition, nanos, WaitKind.IDLE, Task.TASK_INTERRUPTIBLE);
    }

    private boolean waitEventCommon(BooleanSupplier condition, long nanos, WaitKind kind, int state) {
        if (condition.getAsBoolean()) {
            return true;
        }
        Task t = Task.current();
        long deadline = nanos < 0 ? 0 : System.nanoTime() + nanos;
        WaitRecord rec = t.waitRecord();
        rec.publish(this, kind);
        waiters.add(t);
        try {
            for (;;) {
                t.setState(state);
                if (condition.getAsBoolean()) {
                    return true;
                }
                if (nanos < 0) {
                    t.schedule();
                } else {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return condition.getAsBoolean();
                    }
                    t.scheduleTimeout(left);
                }
            }
        } finally {
            waiters.remove(t);
            t.setState(Task.TASK_RUNNING);
            rec.clear();
        }
    }

    /** wake_up(): wakes every waiter; each rechecks its condition. */
    public void wakeUp() {
        if (waiters.isEmpty()) {
            return;
        }
        for (Task w : waiters) {
            w.wakeUpProcess();
        }
    }

    /** waitqueue_active(). */
    public boolean waitqueueActive() {
        return !waiters.isEmpty();
    }

    @Override
    public void addWakers(List<Task> out) {
        owedBy.addTo(out);
    }

    @Override
    public String toString() {
        return "waitqueue " + name;
    }
}
