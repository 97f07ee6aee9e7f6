package dev.reclaimlab.locking;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The dependency graph of one kernel: its lock classes and direct dependencies both ways (locks_after,
 * locks_before), and the breadth-first searches of __bfs(): check_noncircular() and the usage searches
 * find_usage_forwards()/backwards(). Every method runs under the graph lock except the lock-free
 * {@link #lookup} of an already registered class.
 */
final class LockdepGraph {
    /** MAX_LOCKDEP_SUBCLASSES. */
    static final int MAX_SUBCLASSES = 8;

    private volatile LockClass[] byKey = new LockClass[64 * MAX_SUBCLASSES];
    private final List<LockClass> classes = new ArrayList<>();
    private final Map<Long, LockEdge> edges = new HashMap<>();
    /** count_matching_names(): the highest name_version given to each name so far. */
    private final Map<String, Integer> nameVersions = new HashMap<>();
    private final LockdepReport.Style style;

    LockdepGraph(LockdepReport.Style style) {
        this.style = style;
    }

    /** The class of (key, subclass) if this kernel has seen it; no lock, no allocation. */
    LockClass lookup(LockClassKey key, int subclass) {
        LockClass[] t = byKey;
        int i = key.id() * MAX_SUBCLASSES + subclass;
        return i < t.length ? t[i] : null;
    }

    /**
     * register_lock_class(); caller holds the graph lock. {@code name} is the key's name for the booted
     * version. A subclass shares its key's number; a new key with a name already used gets the next one.
     */
    LockClass register(LockClassKey key, int subclass, String name, boolean pseudo) {
        LockClass c = lookup(key, subclass);
        if (c != null) {
            return c;
        }
        int version = 0;
        for (int s = 0; s < MAX_SUBCLASSES; s++) {
            LockClass sibling = lookup(key, s);
            if (sibling != null) {
                version = sibling.nameVersion;
                break;
            }
        }
        if (version == 0) {
            version = nameVersions.getOrDefault(name, 0) + 1;
            nameVersions.put(name, version);
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
        c = new LockClass(classes.size(), key, subclass, name, version, pseudo, style);
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

    LockEdge edge(LockClass prev, LockClass next) {
        return edges.get(edgeKey(prev, next));
    }

    void addEdge(LockEdge e) {
        edges.put(edgeKey(e.prev, e.next), e);
        e.prev.after.add(e);
        e.next.before.add(e);
    }

    /** check_noncircular(): a shortest path of edges from {@code from} to {@code to}, or an empty list. */
    List<LockEdge> findPath(LockClass from, LockClass to) {
        return bfs(from, c -> c == to, true);
    }

    /**
     * find_usage_forwards() ({@code forwards}) or find_usage_backwards(): the shortest path from
     * {@code root} to the nearest class with usage {@code bit}, root included (an empty path means root
     * itself has it); null if none has it. Backwards paths are returned in dependency order, ending at root.
     */
    List<LockEdge> findUsage(LockClass root, int bit, boolean forwards) {
        if (root.has(bit)) {
            return List.of();
        }
        List<LockEdge> p = bfs(root, c -> c.has(bit), forwards);
        return p.isEmpty() ? null : p;
    }

    private List<LockEdge> bfs(LockClass root, Predicate<LockClass> match, boolean forwards) {
        LockEdge[] via = new LockEdge[classes.size()];
        boolean[] seen = new boolean[classes.size()];
        ArrayDeque<LockClass> queue = new ArrayDeque<>();
        queue.add(root);
        seen[root.idx] = true;
        while (!queue.isEmpty()) {
            LockClass c = queue.poll();
            if (c != root && match.test(c)) {
                List<LockEdge> path = new ArrayList<>();
                for (LockClass x = c; x != root; x = forwards ? via[x.idx].prev : via[x.idx].next) {
                    path.add(via[x.idx]);
                }
                if (forwards) {
                    Collections.reverse(path);
                }
                return path;
            }
            for (LockEdge e : forwards ? c.after : c.before) {
                LockClass n = forwards ? e.next : e.prev;
                if (!seen[n.idx]) {
                    seen[n.idx] = true;
                    via[n.idx] = e;
                    queue.add(n);
                }
            }
        }
        return List.of();
    }

    private static long edgeKey(LockClass prev, LockClass next) {
        return ((long) prev.idx << 32) | next.idx;
    }
}
