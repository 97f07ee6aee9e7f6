package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;

import java.util.List;

/**
 * Who a completion or wait queue is owed by, as its code declares it (a bio's completion by the device
 * worker holding the bio; a queued work item's by the workqueue's workers). One volatile write to declare
 * a single waker; the watchdog turns the declaration into wait-for edges.
 */
final class DeclaredWakers {
    private static final Task[] NONE = new Task[0];
    private volatile Task one;
    private volatile Task[] many = NONE;

    void expect(Task t) {
        one = t;
    }

    void expectAll(Task[] ts) {
        many = ts.length == 0 ? NONE : ts.clone();
    }

    void clear() {
        one = null;
        many = NONE;
    }

    void addTo(List<Task> out) {
        Task t = one;
        if (t != null) {
            out.add(t);
        }
        for (Task x : many) {
            if (x != null && !out.contains(x)) {
                out.add(x);
            }
        }
    }
}
