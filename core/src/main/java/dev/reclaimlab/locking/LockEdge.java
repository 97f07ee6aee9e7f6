package dev.reclaimlab.locking;

import java.util.List;

/** struct lock_list: a direct dependency prev -> next and the stack where it was first recorded. */
final class LockEdge {
    final LockClass prev;
    final LockClass next;
    final String task;
    final List<String> trace;

    LockEdge(LockClass prev, LockClass next, String task, List<String> trace) {
        this.prev = prev;
        this.next = next;
        this.task = task;
        this.trace = trace;
    }
}
