package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelConfig;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.SchedMm;
import dev.reclaimlab.trace.ReportEvent;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * The runtime locking correctness validator of one kernel (kernel/locking/lockdep.c, as in Linux 3.14, 4.3
 * and 5.3): lock classes, the dependency graph, the chain cache, the reclaim annotation of the booted
 * version, and the reports. An already-validated chain costs a hash and a lock-free probe; only a new
 * chain or a new usage bit takes the graph lock. Reports are collected and de-duplicated; unlike the
 * kernel (debug_locks_off() after the first splat) lockdep keeps validating after one.
 *
 * <p>Acquisitions are read as the kernel records them: {@code read} 0 (exclusive), 1 (down_read(): it can
 * wait behind a queued writer, so it gets dependencies exactly as a write does, and a read after a read of
 * the same class is recursive locking) or 2 (a recursive read: never a prev, and no dependency is stored
 * for it). A trylock is pushed but not validated.
 *
 * <p>Reclaim recursion, by version. From 2.6.30 to 4.13, the RECLAIM_FS usage state: a lock held across an
 * allocation that may enter fs reclaim becomes RECLAIM_FS-ON, a lock taken (not trylocked) in fs reclaim
 * IN-RECLAIM_FS, and {@link ReclaimFsUsage} reports a class with both, or a dependency between them. From
 * 4.14 ({@link #LOCKDEP_FS_RECLAIM_MAP}) the fs_reclaim pseudo-lock turns the same facts into dependencies.
 * mm calls one API either way: {@link #reclaimAllocHook}, {@link #reclaimEnter}/{@link #reclaimExit} around
 * direct reclaim, {@link #kswapdReclaimEnter}/{@link #kswapdReclaimExit}.
 *
 * <p>Verdicts (reclaimlab, not kernel): see {@link LockdepVerdicts}.
 */
public final class Lockdep {
    /** cf40bd16fdad (2.6.30): the RECLAIM_FS usage state; before it lockdep did not see reclaim at all. */
    public static final Fix LOCKDEP_RECLAIM_FS = Fix.declare("lockdep_reclaim_fs",
            "lockdep tracks reclaim context with the RECLAIM_FS usage state",
            "cf40bd16fdad lockdep: annotate reclaim context (__GFP_NOFS)", new KernelVersion(2, 6, 30));
    /** d92a8cfcb37e "locking/lockdep: Rework FS_RECLAIM annotation" (4.14): fs_reclaim replaces RECLAIM_FS. */
    public static final Fix LOCKDEP_FS_RECLAIM_MAP = Fix.declare("lockdep_fs_reclaim_map",
            "lockdep sees reclaim recursion through the fs_reclaim pseudo-lock instead of the RECLAIM_FS usage state",
            "d92a8cfcb37e locking/lockdep: Rework FS_RECLAIM annotation", new KernelVersion(4, 14));
    /** 6d7225f0cc1a (4.12): the allocation hook applies memalloc_noio (and, with the scope API, nofs). */
    public static final Fix LOCKDEP_MEMALLOC_SCOPE = Fix.declare("lockdep_memalloc_scope",
            "lockdep's allocation hook applies the task's memalloc_noio/nofs scope before testing __GFP_FS",
            "6d7225f0cc1a lockdep: teach lockdep about memalloc_noio_save", new KernelVersion(4, 12));
    /** 7e7844226f10 (4.12): __GFP_NOLOCKDEP. */
    public static final Fix GFP_NOLOCKDEP = Fix.declare("gfp_nolockdep",
            "an allocation with __GFP_NOLOCKDEP is ignored by lockdep's reclaim check",
            "7e7844226f10 lockdep: allow to disable reclaim lockup detection", new KernelVersion(4, 12));
    /** 2e517d681632 (4.16): PF_MEMALLOC alone means "won't enter reclaim", __GFP_NOMEMALLOC or not. */
    public static final Fix LOCKDEP_PF_MEMALLOC = Fix.declare("lockdep_pf_memalloc",
            "__need_fs_reclaim() ignores a PF_MEMALLOC task even when the gfp has __GFP_NOMEMALLOC",
            "2e517d681632 lockdep: Fix fs_reclaim warning (Tetsuo Handa, 2018)", new KernelVersion(4, 16));
    /** Splat titles: "WARNING: ..." from 4.12 (merged beside 6d7225f0cc1a), "[ INFO: ... ]" before. */
    public static final Fix LOCKDEP_WARNING_TAG = Fix.declare("lockdep_warning_tag",
            "lockdep splats are titled \"WARNING: ...\" instead of \"[ INFO: ... ]\"",
            "lockdep: Use \"WARNING\" tag on lockdep splats (4.12 locking merge)", new KernelVersion(4, 12));
    /** print_lock() prints the instance's address (Tetsuo Handa, 2018; release from the posting). */
    public static final Fix LOCKDEP_PRINT_INSTANCE = Fix.declare("lockdep_print_instance",
            "held-lock lines start with the lock instance's hashed address",
            "lockdep: Make print_lock() address visible (Tetsuo Handa, 2018)", new KernelVersion(4, 17));
    /** reclaimlab's option: no instance tracking and no verdicts. */
    public static final Fix LOCKDEP_NO_VERDICTS = Fix.declare("lockdep_no_verdicts",
            "reclaimlab keeps no lock instance sets and gives lockdep reports no verdict",
            "reclaimlab option (not a kernel change)", null);

    /** The fs_reclaim pseudo-lock's class (4.14+): "held locks -> fs_reclaim" is "may allocate with __GFP_FS". */
    public static final LockClassKey FS_RECLAIM = new LockClassKey("fs_reclaim");
    /** lock_acquire()'s read argument: an exclusive acquisition. */
    public static final int WRITE = 0;
    /** read = 1: a shared acquisition that can deadlock against a waiting writer (down_read()). */
    public static final int READ = 1;
    /** read = 2: a recursive read (rwlock_t read_lock(), lock_map_acquire_read()). */
    public static final int READ_RECURSIVE = 2;
    private static final int STRIPES = 16;
    private static final int PAD = 16;
    /** mark_irqflags() for a task with interrupts on: HARDIRQ-ON and SOFTIRQ-ON (W or R), and LOCK_USED. */
    private static final int[] ENABLED_MASK = {
        (1 << LockUsage.bit(LockUsage.HARDIRQ, LockUsage.ENABLED))
            | (1 << LockUsage.bit(LockUsage.SOFTIRQ, LockUsage.ENABLED)) | (1 << LockUsage.LOCK_USED),
        (1 << LockUsage.bit(LockUsage.HARDIRQ, LockUsage.ENABLED_READ))
            | (1 << LockUsage.bit(LockUsage.SOFTIRQ, LockUsage.ENABLED_READ)) | (1 << LockUsage.LOCK_USED)};

    private final Kernel kernel;
    private final boolean enabled;
    private final boolean fsReclaimMap;
    private final boolean reclaimFsState;
    private final boolean memallocScope;
    private final boolean nolockdep;
    private final boolean pfMemallocOnly;
    final Object graphLock = new Object();
    final LockdepGraph graph;
    final LockdepReports reporter;
    private final ChainCache chains = new ChainCache();
    private final ReclaimFsUsage reclaimFs;
    private final LockdepVerdicts verdicts;
    // Striped plain counters: an exact atomic would cost more than the cached-chain path it counts.
    private final long[] hits = new long[STRIPES * PAD];
    private long misses;
    private final LockdepMap fsReclaimLock = new LockdepMap("fs_reclaim", FS_RECLAIM);
    /** System.nanoTime() of the first report, or 0. */
    private volatile long firstReportNanos;

    public Lockdep(Kernel kernel) {
        this.kernel = kernel;
        KernelConfig cfg = kernel.config();
        this.enabled = cfg.lockdep();
        this.fsReclaimMap = cfg.has(LOCKDEP_FS_RECLAIM_MAP);
        this.reclaimFsState = !fsReclaimMap && cfg.has(LOCKDEP_RECLAIM_FS);
        this.memallocScope = cfg.has(LOCKDEP_MEMALLOC_SCOPE);
        this.nolockdep = cfg.has(GFP_NOLOCKDEP);
        this.pfMemallocOnly = cfg.has(LOCKDEP_PF_MEMALLOC);
        LockdepReport.Style style = new LockdepReport.Style(cfg.version().toString(), reclaimFsState ? 3 : 2,
                cfg.has(LOCKDEP_WARNING_TAG), cfg.has(LOCKDEP_PRINT_INSTANCE));
        this.graph = new LockdepGraph(style);
        this.reporter = new LockdepReports(style);
        this.verdicts = new LockdepVerdicts(this, !cfg.has(LOCKDEP_NO_VERDICTS));
        this.reclaimFs = new ReclaimFsUsage(this);
    }

    public boolean enabled() {
        return enabled;
    }

    /** Whether this kernel has the fs_reclaim map (4.14+) rather than the RECLAIM_FS usage state. */
    public boolean fsReclaimMap() {
        return fsReclaimMap;
    }

    /** Whether this kernel has the RECLAIM_FS usage state (2.6.30-4.13). */
    public boolean reclaimFsState() {
        return reclaimFsState;
    }

    /** Whether reports get verdicts ({@link #LOCKDEP_NO_VERDICTS} not set). */
    public boolean verdictsEnabled() {
        return verdicts.enabled();
    }

    /**
     * lock_acquire(): records that {@code t} takes {@code map}. On a new chain, a blocking acquisition is
     * checked against the held locks of its class (check_deadlock()) and gets a dependency from the nearest
     * held lock that is not a trylock and from every trylock above it (check_prevs_add()); a trylock goes on
     * the held stack unvalidated.
     */
    public void lockAcquire(Task t, LockdepMap map, int subclass, int readMode, boolean trylock) {
        if (readMode < WRITE || readMode > READ_RECURSIVE) {
            throw new IllegalArgumentException("lockdep: read " + readMode + " of " + map + " is not 0, 1 or 2");
        }
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
        int need = ENABLED_MASK[readMode == WRITE ? 0 : 1];
        if ((c.usageMask & need) != need) {
            markUsed(c, need);
        }
        if (!trylock) {
            if ((h.reclaimGfp & Gfp.__GFP_FS) != 0) {
                reclaimFs.markUsedInReclaim(t, h, map, c, readMode);
            }
            verdicts.onAcquire(h, map, c, inReclaim(h));
        }
        int fl = readMode | (trylock ? HeldLocks.TRYLOCK : 0);
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
            report(reporter.badUnlock(t, h, map, registerClass(map.key(), 0), KernelStack.current()));
            return;
        }
        h.remove(i);
    }

    /** lock_downgrade(): the held write lock becomes a read lock. */
    public void lockDowngrade(Task t, LockdepMap map) {
        HeldLocks h = t.heldLocks();
        int i = h.find(map);
        if (i < 0) {
            report(reporter.badUnlock(t, h, map, registerClass(map.key(), 0), KernelStack.current()));
            return;
        }
        h.downgrade(i);
    }

    static boolean inReclaim(HeldLocks h) {
        return (h.reclaimGfp & Gfp.__GFP_FS) != 0 || h.fsReclaimHeld > 0;
    }

    LockClass registerClass(LockClassKey key, int subclass) {
        LockClass c = graph.lookup(key, subclass);
        if (c != null) {
            return c;
        }
        synchronized (graphLock) {
            return graph.register(key, subclass, key.name(kernel.config()), key == FS_RECLAIM);
        }
    }

    /** mark_lock() of bits that need no check: the usage characters and their first traces. */
    private void markUsed(LockClass c, int need) {
        List<String> trace = KernelStack.current();
        synchronized (graphLock) {
            int missing = need & ~c.usageMask;
            for (int b = 0; b < LockUsage.NR_BITS; b++) {
                if ((missing & (1 << b)) != 0) {
                    c.usageTraces[b] = trace;
                }
            }
            c.usageMask |= missing;
        }
    }

    private void validateChain(Task t, HeldLocks h, LockdepMap map, LockClass c, int fl, long chainKey) {
        LockdepReports.Found found = null;
        synchronized (graphLock) {
            if (!chains.add(chainKey)) {
                return;
            }
            misses++;
            if (HeldLocks.trylock(fl)) {
                return;
            }
            int d = h.depth();
            int read = HeldLocks.read(fl);
            // check_deadlock(): the same class already held.
            for (int i = 0; i < d; i++) {
                if (h.classes[i] != c) {
                    continue;
                }
                if (read == READ_RECURSIVE && HeldLocks.read(h.flags[i]) != WRITE) {
                    return;
                }
                found = reporter.recursive(t, h, i, map, c, fl, KernelStack.current());
                break;
            }
            // check_prevs_add(): the nearest non-trylock held lock, and the trylocks above it.
            List<String> trace = null;
            for (int i = d - 1; found == null && i >= 0; i--) {
                int hf = h.flags[i];
                if (HeldLocks.read(hf) == READ_RECURSIVE) {
                    continue;
                }
                if (trace == null) {
                    trace = KernelStack.current();
                }
                found = checkPrevAdd(t, h, i, map, c, fl, trace);
                if (!HeldLocks.trylock(hf)) {
                    break;
                }
            }
        }
        if (found != null) {
            report(found);
        }
    }

    /** check_prev_add(): the cycle check, RECLAIM_FS's safe -> unsafe check, then the new dependency. */
    private LockdepReports.Found checkPrevAdd(Task t, HeldLocks h, int i, LockdepMap map, LockClass next, int fl,
                                              List<String> trace) {
        LockClass prev = h.classes[i];
        List<LockEdge> path = graph.findPath(next, prev);
        if (!path.isEmpty()) {
            return reporter.circular(t, h, i, map, next, fl, path, trace, inReclaim(h));
        }
        if (reclaimFsState) {
            LockdepReports.Found f = reclaimFs.checkPrevAddIrq(t, h, i, map, next, fl, trace);
            if (f != null) {
                return f;
            }
        }
        if (HeldLocks.read(fl) == READ_RECURSIVE || HeldLocks.read(h.flags[i]) == READ_RECURSIVE
                || graph.edge(prev, next) != null) {
            return null;
        }
        graph.addEdge(new LockEdge(prev, next, t.toString(), trace, h.instances[i], map.instance(), inReclaim(h)));
        return null;
    }

    void report(LockdepReports.Found f) {
        if (!verdicts.claim(f)) {
            return;
        }
        LockdepReport r = f.report();
        ReportEvent ev = new ReportEvent();
        ev.begin();
        ev.end();
        if (ev.shouldCommit()) {
            ev.source = "lockdep";
            ev.type = r.type().name();
            ev.headline = r.title();
            ev.kernel = "linux-" + r.style().kernelVersion();
            ev.commit();
        }
        kernel.printk(r.text());
        verdicts.publish(f);
        if (firstReportNanos == 0) {
            firstReportNanos = System.nanoTime();
        }
    }

    /** When the first report was made (System.nanoTime()), or 0 if none was. */
    public long firstReportNanos() {
        return firstReportNanos;
    }

    // ------------------------------------------------------------------ reclaim, by version

    /**
     * The allocator's entry (mm/page_alloc.c, mm/slab.h): {@code gfp} as the caller passed it. Before 4.14
     * lockdep_trace_alloc() marks every held lock RECLAIM_FS-ON; from 4.14 fs_reclaim_acquire() +
     * fs_reclaim_release() record "held locks -> fs_reclaim". Either only when the allocation may enter fs
     * reclaim (see {@link #mayEnterFsReclaim}).
     */
    public void reclaimAllocHook(Task t, int gfp) {
        if (!enabled || !(fsReclaimMap || reclaimFsState) || !mayEnterFsReclaim(t, gfp)) {
            return;
        }
        HeldLocks h = t.heldLocks();
        if (h.depth() == 0) {
            if (fsReclaimMap) {
                fsReclaimAcquire(t, h);
                fsReclaimRelease(t, h);
            }
            return;
        }
        verdicts.onAbove(h);
        if (fsReclaimMap) {
            fsReclaimAcquire(t, h);
            fsReclaimRelease(t, h);
        } else {
            reclaimFs.traceAlloc(t, h);
        }
    }

    /**
     * __perform_reclaim()'s entry, {@code gfp} after current_gfp_context(), before PF_MEMALLOC is set: before
     * 4.14 lockdep_set_current_reclaim_state(gfp), so locks taken in reclaim become IN-RECLAIM_FS when the
     * gfp has __GFP_FS; from 4.14 fs_reclaim_acquire(gfp).
     */
    public void reclaimEnter(Task t, int gfp) {
        if (!enabled) {
            return;
        }
        HeldLocks h = t.heldLocks();
        if (reclaimFsState) {
            h.reclaimGfp = gfp;
        } else if (fsReclaimMap && needFsReclaim(t, gfp)) {
            if (h.depth() > 0) {
                verdicts.onAbove(h);
            }
            fsReclaimAcquire(t, h);
        }
    }

    /** __perform_reclaim()'s exit, with the same gfp, after PF_MEMALLOC is restored. */
    public void reclaimExit(Task t, int gfp) {
        if (!enabled) {
            return;
        }
        HeldLocks h = t.heldLocks();
        if (reclaimFsState) {
            h.reclaimGfp = 0;
        } else if (fsReclaimMap && needFsReclaim(t, gfp)) {
            fsReclaimRelease(t, h);
        }
    }

    /**
     * kswapd reclaiming: before 4.14 lockdep_set_current_reclaim_state(GFP_KERNEL) (kswapd() sets it once at
     * start; here while it balances), from 4.14 the unconditional __fs_reclaim_acquire().
     */
    public void kswapdReclaimEnter(Task t) {
        if (!enabled) {
            return;
        }
        HeldLocks h = t.heldLocks();
        if (fsReclaimMap) {
            fsReclaimAcquire(t, h);
        } else if (reclaimFsState) {
            h.reclaimGfp = Gfp.GFP_KERNEL;
        }
    }

    /** __fs_reclaim_release() / lockdep_clear_current_reclaim_state() for kswapd. */
    public void kswapdReclaimExit(Task t) {
        if (!enabled) {
            return;
        }
        HeldLocks h = t.heldLocks();
        if (fsReclaimMap) {
            fsReclaimRelease(t, h);
        } else if (reclaimFsState) {
            h.reclaimGfp = 0;
        }
    }

    /**
     * lockdep_set_current_reclaim_state() (2.6.30-4.13): the task counts as in reclaim for {@code gfp} until
     * cleared; NeilBrown's 2014 RFC annotated nfsd's loop-back requests so. Gone with the fs_reclaim map.
     */
    public void lockdepSetCurrentReclaimState(Task t, int gfp) {
        if (!reclaimFsState) {
            throw new IllegalStateException("lockdep_set_current_reclaim_state() does not exist in linux-"
                    + kernel.config().version() + (fsReclaimMap
                    ? ": d92a8cfcb37e (4.14) replaced it with the fs_reclaim map" : ": cf40bd16fdad added it in 2.6.30"));
        }
        t.heldLocks().reclaimGfp = gfp;
    }

    /** lockdep_clear_current_reclaim_state(). */
    public void lockdepClearCurrentReclaimState(Task t) {
        lockdepSetCurrentReclaimState(t, 0);
    }

    /**
     * Whether an allocation with {@code gfp} (as passed) may recurse into fs reclaim, as the version's
     * check reads it: __lockdep_trace_alloc() before 4.14, __need_fs_reclaim() after.
     */
    public boolean mayEnterFsReclaim(Task t, int gfp) {
        return fsReclaimMap ? needFsReclaim(t, gfp) : traceAllocMarks(t, gfp);
    }

    /** __need_fs_reclaim() (5.3): current_gfp_context(); direct reclaim; not PF_MEMALLOC; __GFP_FS; not NOLOCKDEP. */
    private boolean needFsReclaim(Task t, int gfp) {
        gfp = SchedMm.currentGfpContext(t, gfp);
        return (gfp & Gfp.__GFP_DIRECT_RECLAIM) != 0 && !wontEnterReclaim(t, gfp) && (gfp & Gfp.__GFP_FS) != 0
                && !(nolockdep && (gfp & Gfp.__GFP_NOLOCKDEP) != 0);
    }

    /** __lockdep_trace_alloc()'s early returns (3.14/4.3; the scope and NOLOCKDEP tests from 4.12). */
    private boolean traceAllocMarks(Task t, int gfp) {
        if (memallocScope) {
            gfp = SchedMm.currentGfpContext(t, gfp);
        }
        return (gfp & Gfp.__GFP_DIRECT_RECLAIM) != 0 && !wontEnterReclaim(t, gfp) && (gfp & Gfp.__GFP_FS) != 0
                && !(nolockdep && (gfp & Gfp.__GFP_NOLOCKDEP) != 0);
    }

    /** "this guy won't enter reclaim". */
    private boolean wontEnterReclaim(Task t, int gfp) {
        return (t.flags() & TaskFlags.PF_MEMALLOC) != 0 && (pfMemallocOnly || (gfp & Gfp.__GFP_NOMEMALLOC) == 0);
    }

    private void fsReclaimAcquire(Task t, HeldLocks h) {
        lockAcquire(t, fsReclaimLock, 0, WRITE, false);
        h.fsReclaimHeld++;
    }

    private void fsReclaimRelease(Task t, HeldLocks h) {
        h.fsReclaimHeld--;
        lockRelease(t, fsReclaimLock);
    }

    // ------------------------------------------------------------------ reports

    /**
     * Reports so far, oldest first, de-duplicated by type and class set; each with its verdict as of now
     * (a verdict can still change while the kernel runs: the one at the end of the run is what counts).
     */
    public List<LockdepReport> reports() {
        return verdicts.reports();
    }

    /**
     * The watchdog proved a deadlock: {@code cycle} are the wait records of its tasks, read at proof time
     * (their held locks include the lock each still waits for). Every report whose classes all have an
     * instance held or awaited by those tasks becomes CONFIRMED. Returns how many reports it confirmed.
     */
    public int watchdogProvedCycle(Collection<WaitRecord.Snapshot> cycle) {
        List<Task> tasks = new ArrayList<>();
        for (WaitRecord.Snapshot s : cycle) {
            tasks.add(s.task());
        }
        return verdicts.confirmByWatchdog(tasks);
    }

    /** /proc/lockdep_stats. */
    public LockdepStats stats() {
        long h = 0;
        for (int i = 0; i < STRIPES; i++) {
            h += hits[i * PAD];
        }
        synchronized (graphLock) {
            return new LockdepStats(graph.nrClasses(), graph.nrEdges(), chains.size(), h, misses, verdicts.size());
        }
    }

    /** debug_show_all_locks(): every task's held locks (racy, as in the kernel). */
    public String debugShowAllLocks() {
        StringBuilder sb = new StringBuilder("\nShowing all locks held in the system:\n");
        for (Task t : kernel.tasks()) {
            List<String> held = t.heldLocks().describe();
            if (!held.isEmpty()) {
                sb.append(held.size()).append(held.size() == 1 ? " lock" : " locks").append(" held by ")
                        .append(t.comm()).append('/').append(t.pid()).append(":\n");
                for (int i = 0; i < held.size(); i++) {
                    sb.append(" #").append(i).append(": ").append(held.get(i)).append('\n');
                }
            }
        }
        sb.append("\n=============================================\n");
        return sb.toString();
    }
}
