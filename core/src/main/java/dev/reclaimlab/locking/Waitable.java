package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;

import java.util.List;

/**
 * Something a task can sleep on. It knows who can end the sleep: a lock's owners, or the tasks a completion
 * or wait queue is declared to be owed by. The watchdog turns these into wait-for edges (DESIGN.md rule 2).
 */
public interface Waitable {
    /** The instance's name, e.g. "i_mutex" or "bio->bi_done". */
    String name();

    /** Adds the tasks that can end a wait on this object right now; may add none. */
    void addWakers(List<Task> out);
}
