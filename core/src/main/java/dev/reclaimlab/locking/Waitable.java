package dev.reclaimlab.locking;

/**
 * Something a task can sleep or spin on. It knows who can end the wait: a lock's owners, or the tasks a
 * completion or wait queue is declared to be owed by. The watchdog turns these into wait-for edges
 * (DESIGN.md rules 2 and 10). A waitable that adds nothing is a wait with an unknown waker: it is shown
 * as such and can never complete a proof.
 */
public interface Waitable {
    /** The instance's name, e.g. "i_mutex" or "bio->bi_done". */
    String name();

    /** Tells {@code out} who can end a wait on this object right now. */
    void wakers(WakerSink out);
}
