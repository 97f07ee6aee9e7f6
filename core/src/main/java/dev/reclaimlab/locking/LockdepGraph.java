package dev.reclaimlab.locking;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The dependency graph of one kernel: its lock classes and direct dependencies, and the breadth-first
 * search for a path (check_noncircular()). Every method runs under the graph lock except the lock-free
 * {@link #lookup} of an already registered class.
 */
final class LockdepGraph {
    /** MAX_LOCKDEP_SUBCLASSES. */
    static final int MAX_SUBCLASSES = 8;

    private volatile LockClass[] byKey = new LockClass[64 * MAX_SUBCLASSES];
    private final List<LockClass> classes = new ArrayList<>();
    private final Map<Long, LockEdge> edges = new HashMap<>();

    /** The class of (key, subclass) if this kernel has seen it; no lock, no allocation. */
    LockClass lookup(LockClassKey key, int subclass) {
        LockClass[] t = byKey;
        int i = key.id() * MAX_SUBCLASSES + subclass;
        return i < t.length ? t[i] : null;
    }

    /** register_lock_class(); caller holds the graph lock. */
    LockClass register(LockClassKey key, int subclass) {
        LockClass c = lookup(key, subclass);
        if (c != null) {
            return c;
        }
        int i = key.id() * MAX_SUBCLASSES + subclass;
        LockClass[] t = byKey;
        if (i >= t.length) {
            LockClass[] bigger = new LockClass[Math.max(t.length * 2, (i / MAX_SUBCLASSES + 1) * 2 * MAX_SUBCLASSES)];
            System.arraycopy(t, 0, bigger, 0, t.length);
            t = bigger;
        } else {
            t = t.clone();
        }
        c = new LockClass(classes.size(), key, subclass);
        classes.add(c);
        t[i] = c;
        byKey = t;
        return c;
    }

    int nrClasses() {
        return classes.size();
    }

    int nrEdges() {
        return edges.size();
    }

    boolean hasEdge(LockClass prev, LockClass next) {
        return edges.containsKey(edgeKey(prev, next));
    }

    void addEdge(LockEdge e) {
        edges.put(edgeKey(e.prev, e.next), e);
        e.prev.after.add(e);
    }

    /** A shortest path of edges from {@code from} to {@code to}, or an empty list. */
    List<LockEdge> findPath(LockClass from, LockClass to) {
        LockEdge[] via = new LockEdge[classes.size()];
        boolean[] seen = new boolean[classes.size()];
        ArrayDeque<LockClass> queue = new ArrayDeque<>();
        queue.add(from);
        seen[from.idx] = true;
        while (!queue.isEmpty()) {
            LockClass c = queue.poll();
            if (c == to) {
                List<LockEdge> path = new ArrayList<>();
                for (LockClass x = to; x != from; x = via[x.idx].prev) {
                    path.add(via[x.idx]);
                }
                Collections.reverse(path);
                return path;
            }
            for (LockEdge e : c.after) {
                if (!seen[e.next.idx]) {
                    seen[e.next.idx] = true;
                    via[e.next.idx] = e;
                    queue.add(e.next);
                }
            }
        }
        return List.of();
    }

    private static long edgeKey(LockClass prev, LockClass next) {
        return ((long) prev.idx << 32) | next.idx;
    }
}
