package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;

/**
 * Where a {@link Waitable} says who can end a wait on it, when the watchdog asks. By default any one of
 * the tasks added can end it (a mutex's owner; a queued work's idle workers); {@link #all()} says every one
 * of them must act (an rwsem writer waits for all readers to leave); {@link #open} says a task that does not
 * exist yet can end it (a worker pool that can still start a worker), so the wait can prove nothing.
 */
public interface WakerSink {
    /** The task whose wait is being read. */
    Task waiter();

    /** {@code t} can end the wait. Null is ignored. */
    void add(Task t);

    /** Every task added must act before the wait ends. */
    void all();

    /** Someone not among the tasks can end the wait; {@code why} is shown in reports. */
    void open(String why);
}
