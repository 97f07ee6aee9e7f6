package dev.reclaimlab.locking;

import java.util.ArrayList;
import java.util.List;

/** struct lock_class: one (key, subclass) in one kernel, with its forward dependencies. */
final class LockClass {
    final int idx;
    final LockClassKey key;
    final int subclass;
    final String name;
    /** locks_after: edges this -> next; guarded by the graph lock. */
    final List<LockEdge> after = new ArrayList<>();

    LockClass(int idx, LockClassKey key, int subclass) {
        this.idx = idx;
        this.key = key;
        this.subclass = subclass;
        this.name = subclass == 0 ? key.name() : key.name() + "/" + subclass;
    }

    @Override
    public String toString() {
        return name;
    }
}
