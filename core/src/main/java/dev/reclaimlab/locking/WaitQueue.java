package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * wait_queue_head_t (kernel/sched/wait.c) with the wait_event() family and wake_up(). The condition's state
 * must be published with a volatile or atomic write before {@link #wakeUp()}: a waiter joins the queue,
 * then tests the condition, so the wake-up cannot be lost. Whoever will make the condition true is
 * declared with {@link #expectWaker} and its relatives.
 */
public final class WaitQueue implements Waitable {
    private final String name;
    private final WaitList waiters = new WaitList();
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

    /** Declares that {@code source} knows, whenever asked, who will wake this queue. */
    public WaitQueue expectWakersFrom(Waitable source) {
        owedBy.expectFrom(source);
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
        return waitCommon(condition, nanos, WaitKind.WAITQUEUE, Task.TASK_UNINTERRUPTIBLE) == Sleep.DONE;
    }

    /** wait_event_killable(): 0, or -EINTR once a fatal signal is pending. */
    public int waitEventKillable(BooleanSupplier condition) {
        return waitCommon(condition, -1, WaitKind.WAITQUEUE, Task.TASK_KILLABLE) == Sleep.KILLED ? Sleep.KILLED : 0;
    }

    /**
     * wait_event_interruptible_timeout() for a thread idling until there is work (kswapd, a flusher): the
     * watchdog counts it neither as blocked nor as busy. Negative {@code nanos} waits for ever.
     */
    public boolean waitEventInterruptibleTimeout(BooleanSupplier condition, long nanos) {
        return waitCommon(condition, nanos, WaitKind.IDLE, Task.TASK_INTERRUPTIBLE) == Sleep.DONE;
    }

    /** As {@link #waitEventTimeout(BooleanSupplier, long)} with the timeout in {@code unit}. */
    public boolean waitEventTimeout(BooleanSupplier condition, long timeout, TimeUnit unit) {
        return waitEventTimeout(condition, unit.toNanos(timeout));
    }

    private int waitCommon(BooleanSupplier condition, long nanos, WaitKind kind, int state) {
        if (condition.getAsBoolean()) {
            return Sleep.DONE;
        }
        Task t = Task.current();
        t.mightSleep("wait_event");
        return Sleep.sleep(t, this, kind, state, nanos, waiters, condition::getAsBoolean);
    }

    /** wake_up(): wakes every waiter; each rechecks its condition. */
    public void wakeUp() {
        waiters.wakeAll();
    }

    /** The sleepers, for primitives built on this queue (a completion). */
    WaitList list() {
        return waiters;
    }

    /** waitqueue_active(). */
    public boolean waitqueueActive() {
        return !waiters.isEmpty();
    }

    @Override
    public void wakers(WakerSink out) {
        owedBy.addTo(out);
    }

    @Override
    public String toString() {
        return "waitqueue " + name;
    }
}
