package dev.reclaimlab.locking;

import java.util.List;

/**
 * struct lock_list: a direct dependency prev -> next and the stack where it was first recorded, plus (for
 * verdicts) the two lock instances and whether the task was in reclaim when it was recorded.
 */
final class LockEdge {
    final LockClass prev;
    final LockClass next;
    final String task;
    final List<String> trace;
    final long prevInstance;
    final long nextInstance;
    final boolean inReclaim;

    LockEdge(LockClass prev, LockClass next, String task, List<String> trace, long prevInstance,
             long nextInstance, boolean inReclaim) {
        this.prev = prev;
        this.next = next;
        this.task = task;
        this.trace = trace;
        this.prevInstance = prevInstance;
        this.nextInstance = nextInstance;
        this.inReclaim = inReclaim;
    }
}
