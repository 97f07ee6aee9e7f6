package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The runtime locking correctness validator of one kernel (kernel/locking/lockdep.c): lock classes, the
 * dependency graph, the chain cache, the fs_reclaim pseudo-lock (mm/page_alloc.c since 4.14) and the
 * reports. An already-validated chain costs a hash and a lock-free probe; only a new chain takes the graph
 * lock. Reports are collected and de-duplicated; they never stop the kernel.
 */
public final class Lockdep {
    /** The fs_reclaim pseudo-lock's class: "held locks -> fs_reclaim" is "may allocate with __GFP_FS". */
    public static final LockClassKey FS_RECLAIM = new LockClassKey("fs_reclaim");
    /** lock_acquire()'s read argument: an exclusive acquisition. */
    public static final int WRITE = 0;
    /** read = 1: a shared acquisition that can deadlock against a waiting writer (down_read()). */
    public static final int READ = 1;
    /** read = 2: a recursive read (rwlock_t read_lock()), which never waits for a waiting writer. */
    public static final int READ_RECURSIVE = 2;
    private static final int STRIPES = 16;
    private static final int PAD = 16;

    private final Kernel kernel;
    private final boolean enabled;
    private final Object graphLock = new Object();
    private final LockdepGraph graph = new LockdepGraph();
    private final ChainCache chains = new ChainCache();
    // Striped plain counters: an exact atomic would cost more than the cached-chain path it counts.
    private final long[] hits = new long[STRIPES * PAD];
    private long misses;
    private final List<LockdepReport> reports = new CopyOnWriteArrayList<>();
    private final Set<String> signatures = ConcurrentHashMap.newKeySet();
    private final LockdepMap fsReclaimMap = new LockdepMap("fs_reclaim", FS_RECLAIM);

    public Lockdep(Kernel kernel) {
        this.kernel = kernel;
        this.enabled = kernel.config().lockdep();
    }

    public boolean enabled() {
        return enabled;
    }

    /**
     * lock_acquire(): records that {@code t} takes {@code map}. A blocking acquisition of a new chain adds
     * an edge from every held class to the new one; a trylock goes on the held stack but adds no edge;
     * read after read is no dependency.
     */
    public void lockAcquire(Task t, LockdepMap map, int subclass, int readMode, boolean trylock) {
        if (readMode < WRITE || readMode > READ_RECURSIVE) {
            throw new IllegalArgumentException("lockdep: read " + readMode + " of " + map + " is not 0, 1 or 2");
        }
        boolean read = readMode != WRITE;
        if (subclass < 0 || subclass >= LockdepGraph.MAX_SUBCLASSES) {
            throw new IllegalArgumentException("lockdep: subclass " + subclass + " of " + map + " is outside [0, "
                    + LockdepGraph.MAX_SUBCLASSES + ")");
        }
        LockClassKey key = map.key();
        LockClass c = graph.lookup(key, subclass);
        if (c == null) {
            c = registerClass(key, subclass);
        }
        HeldLocks h = t.heldLocks();
        int fl = (read ? HeldLocks.READ : 0) | (trylock ? HeldLocks.TRYLOCK : 0);
        long chainKey = ChainCache.mix(h.topChainKey(), c.idx, fl);
        if (chains.contains(chainKey)) {
            hits[(t.pid() & (STRIPES - 1)) * PAD]++;
        } else {
            validateChain(t, h, map, c, fl, chainKey);
        }
        h.push(map, c, fl, chainKey);
    }

    /** lock_release(): an unlock of a lock the task does not hold is a bad-unlock-balance report. */
    public void lockRelease(Task t, LockdepMap map) {
        HeldLocks h = t.heldLocks();
        int i = h.find(map);
        if (i < 0) {
            addReport(LockdepReport.badUnlock(t.toString(), h.describe(), map, KernelStack.current()));
            return;
        }
        h.remove(i);
    }

    /** lock_downgrade(): the held write lock becomes a read lock. */
    public void lockDowngrade(Task t, LockdepMap map) {
        HeldLocks h = t.heldLocks();
        int i = h.find(map);
        if (i < 0) {
            addReport(LockdepReport.badUnlock(t.toString(), h.describe(), map, KernelStack.current()));
            return;
        }
        h.downgrade(i);
    }

    private LockClass registerClass(LockClassKey key, int subclass) {
        synchronized (graphLock) {
            return graph.register(key, subclass);
        }
    }

    private void validateChain(Task t, HeldLocks h, LockdepMap map, LockClass c, int fl, long chainKey) {
        List<LockdepReport> found = new ArrayList<>(0);
        synchronized (graphLock) {
            if (!chains.add(chainKey)) {
                return;
            }
            misses++;
            int d = h.depth();
            boolean read = (fl & HeldLocks.READ) != 0;
            List<String> trace = null;
            for (int i = 0; i < d; i++) {
                LockClass hc = h.classes[i];
                boolean heldRead = (h.flags[i] & HeldLocks.READ) != 0;
                if (hc == c) {
                    if (!(read && heldRead) && (fl & HeldLocks.TRYLOCK) == 0) {
                        trace = trace != null ? trace : KernelStack.current();
                        found.add(LockdepReport.recursive(t.toString(), h.describe(), c, h.maps[i].name(),
                                map.name(), trace));
                    }
                    continue;
                }
                if ((fl & HeldLocks.TRYLOCK) != 0 || (read && heldRead) || graph.hasEdge(hc, c)) {
                    continue;
                }
                trace = trace != null ? trace : KernelStack.current();
                List<LockEdge> path = graph.findPath(c, hc);
                if (!path.isEmpty()) {
                    found.add(LockdepReport.circular(t.toString(), h.describe(), hc, h.maps[i].name(), c,
                            map.name(), path, trace));
                    continue;
                }
                graph.addEdge(new LockEdge(hc, c, t.toString(), trace));
            }
        }
        for (LockdepReport r : found) {
            addReport(r);
        }
    }

    private void addReport(LockdepReport r) {
        if (signatures.add(r.signature())) {
            reports.add(r);
            kernel.printk(r.text());
        }
    }

    /**
     * __need_fs_reclaim() after current_gfp_context(): whether an allocation may recurse into filesystem
     * reclaim. {@code directReclaim} and {@code fs} are the gfp's __GFP_DIRECT_RECLAIM and __GFP_FS; the
     * task's memalloc_nofs/noio scope and PF_MEMALLOC are applied here.
     */
    public static boolean needFsReclaim(Task t, boolean directReclaim, boolean fs) {
        int f = t.flags();
        return directReclaim && fs && (f & TaskFlags.PF_MEMALLOC) == 0
                && (f & (TaskFlags.PF_MEMALLOC_NOFS | TaskFlags.PF_MEMALLOC_NOIO)) == 0;
    }

    /**
     * fs_reclaim_acquire(gfp) + fs_reclaim_release(gfp) in the allocator's entry (might_lock): records
     * "every held lock -> fs_reclaim" when the allocation may enter fs reclaim.
     */
    public void fsReclaimMightLock(Task t, boolean directReclaim, boolean fs) {
        if (enabled && needFsReclaim(t, directReclaim, fs)) {
            lockAcquire(t, fsReclaimMap, 0, WRITE, false);
            lockRelease(t, fsReclaimMap);
        }
    }

    /** fs_reclaim_acquire(gfp) around direct reclaim: held while reclaiming, if the gfp may enter fs reclaim. */
    public void fsReclaimAcquire(Task t, boolean directReclaim, boolean fs) {
        if (enabled && needFsReclaim(t, directReclaim, fs)) {
            lockAcquire(t, fsReclaimMap, 0, WRITE, false);
        }
    }

    /** fs_reclaim_release(gfp): call with the same gfp, after PF_MEMALLOC is restored. */
    public void fsReclaimRelease(Task t, boolean directReclaim, boolean fs) {
        if (enabled && needFsReclaim(t, directReclaim, fs)) {
            lockRelease(t, fsReclaimMap);
        }
    }

    /** __fs_reclaim_acquire(): kswapd holds fs_reclaim unconditionally while it reclaims. */
    public void fsReclaimAcquire(Task t) {
        if (enabled) {
            lockAcquire(t, fsReclaimMap, 0, WRITE, false);
        }
    }

    /** __fs_reclaim_release(). */
    public void fsReclaimRelease(Task t) {
        if (enabled) {
            lockRelease(t, fsReclaimMap);
        }
    }

    /** Reports so far, oldest first, de-duplicated by class set. */
    public List<LockdepReport> reports() {
        return Collections.unmodifiableList(reports);
    }

    /** /proc/lockdep_stats. */
    public LockdepStats stats() {
        long h = 0;
        for (int i = 0; i < STRIPES; i++) {
            h += hits[i * PAD];
        }
        synchronized (graphLock) {
            return new LockdepStats(graph.nrClasses(), graph.nrEdges(), chains.size(), h, misses, reports.size());
        }
    }

    /** debug_show_all_locks(): every task's held locks (racy, as in the kernel). */
    public String debugShowAllLocks() {
        StringBuilder sb = new StringBuilder("\nShowing all locks held in the system:\n");
        for (Task t : kernel.tasks()) {
            List<String> held = t.heldLocks().describe();
            if (!held.isEmpty()) {
                LockdepReport.printHeld(sb, t.toString(), held);
            }
        }
        sb.append("\n=============================================\n");
        return sb.toString();
    }
}
