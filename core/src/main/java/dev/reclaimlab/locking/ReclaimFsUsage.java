package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;

import java.util.List;

/**
 * The RECLAIM_FS usage state of Linux 2.6.30-4.13 (cf40bd16fdad "lockdep: annotate reclaim context
 * (__GFP_NOFS)"), as in 3.14 and 4.3's kernel/locking/lockdep.c: mark_irqflags() marks a lock taken, not
 * trylocked, while the task's lockdep_reclaim_gfp has __GFP_FS as IN-RECLAIM_FS(-READ);
 * lockdep_trace_alloc() marks every held lock RECLAIM_FS-ON(-READ) at an allocation that may enter fs
 * reclaim (trylocked ones too). mark_lock_irq() checks each first mark: the class itself
 * (valid_state(): "inconsistent lock state"), then the dependency graph (check_usage_forwards/backwards():
 * "possible irq lock inversion dependency detected"). Every new dependency is checked too
 * (check_prev_add_irq(): "RECLAIM_FS-safe -> RECLAIM_FS-unsafe lock order detected"). STRICT_READ_CHECKS
 * is 1. The HARDIRQ/SOFTIRQ states need no checks here: no lock is ever used in an interrupt.
 */
final class ReclaimFsUsage {
    private final Lockdep lockdep;

    ReclaimFsUsage(Lockdep lockdep) {
        this.lockdep = lockdep;
    }

    /** mark_irqflags()'s reclaim part, for {@code map} (class c) about to be pushed. */
    void markUsedInReclaim(Task t, HeldLocks h, LockdepMap map, LockClass c, int read) {
        int bit = read != Lockdep.WRITE ? LockUsage.USED_IN_RECLAIM_FS_READ : LockUsage.USED_IN_RECLAIM_FS;
        if (c.has(bit)) {
            return;
        }
        mark(t, h, c, bit, LockdepReports.pending(map, c, read), KernelStack.caller());
    }

    /** mark_held_locks(curr, RECLAIM_FS) from lockdep_trace_alloc(). */
    void traceAlloc(Task t, HeldLocks h) {
        int d = h.depth();
        for (int i = 0; i < d; i++) {
            LockClass c = h.classes[i];
            int bit = LockUsage.ENABLED_RECLAIM_FS + (HeldLocks.read(h.flags[i]) != Lockdep.WRITE ? 1 : 0);
            if (!c.has(bit)) {
                mark(t, h, c, bit, LockdepReports.held(h, i), null);
            }
        }
    }

    /** mark_lock() + mark_lock_irq(). */
    private void mark(Task t, HeldLocks h, LockClass c, int newBit, LockdepReport.HeldLock lock, String at) {
        List<String> trace = KernelStack.current();
        LockdepReports.Found found;
        synchronized (lockdep.graphLock) {
            if (c.has(newBit)) {
                return;
            }
            c.usageMask |= 1 << newBit;
            c.usageTraces[newBit] = trace;
            found = check(t, h, c, newBit, lock, at, trace);
        }
        if (found != null) {
            lockdep.report(found);
        }
    }

    private LockdepReports.Found check(Task t, HeldLocks h, LockClass c, int newBit, LockdepReport.HeldLock lock,
                                       String at, List<String> trace) {
        int excl = LockUsage.exclusiveBit(newBit);
        boolean read = (newBit & 1) != 0;
        boolean forwards = (newBit & 2) == 0;
        LockdepReports.Found f = validState(t, h, c, newBit, excl, lock, at, trace);
        if (f == null) {
            f = usage(t, h, c, excl, LockUsage.stateName(newBit & ~1), forwards, lock, at, trace);
        }
        if (f == null && !read) {
            f = validState(t, h, c, newBit, excl + 1, lock, at, trace);
            if (f == null) {
                f = usage(t, h, c, excl + 1, LockUsage.stateName(newBit + 1), forwards, lock, at, trace);
            }
        }
        return f;
    }

    private LockdepReports.Found validState(Task t, HeldLocks h, LockClass c, int newBit, int badBit,
                                            LockdepReport.HeldLock lock, String at, List<String> trace) {
        if (!c.has(badBit)) {
            return null;
        }
        return lockdep.reporter.inconsistent(t, h, withUsage(lock, c), at, c, badBit, newBit, trace);
    }

    /** check_usage_forwards() / check_usage_backwards(). */
    private LockdepReports.Found usage(Task t, HeldLocks h, LockClass c, int bit, String state, boolean forwards,
                                       LockdepReport.HeldLock lock, String at, List<String> trace) {
        List<LockEdge> path = lockdep.graph.findUsage(c, bit, forwards);
        if (path == null || path.isEmpty()) {
            return null;
        }
        LockClass other = forwards ? path.get(path.size() - 1).next : path.get(0).prev;
        return lockdep.reporter.inversion(t, h, withUsage(lock, c), at, c, forwards, path, other, state, trace);
    }

    /** check_prev_add_irq() for RECLAIM_FS: does prev -> next join a RECLAIM_FS-safe and -unsafe class? */
    LockdepReports.Found checkPrevAddIrq(Task t, HeldLocks h, int i, LockdepMap map, LockClass next, int fl,
                                         List<String> trace) {
        LockClass prev = h.classes[i];
        int bit = LockUsage.USED_IN_RECLAIM_FS;
        for (int b = bit; b <= bit + 1; b++) {
            int excl = LockUsage.exclusiveBit(b);
            List<LockEdge> back = lockdep.graph.findUsage(prev, b, false);
            if (back == null) {
                continue;
            }
            List<LockEdge> fwd = lockdep.graph.findUsage(next, excl, true);
            if (fwd == null) {
                continue;
            }
            LockClass safe = back.isEmpty() ? prev : back.get(0).prev;
            LockClass unsafe = fwd.isEmpty() ? next : fwd.get(fwd.size() - 1).next;
            return lockdep.reporter.safeUnsafe(t, h, i, map, next, fl, safe, back, b, unsafe, fwd, excl,
                    LockUsage.stateName(b), trace, Lockdep.inReclaim(h));
        }
        return null;
    }

    /** The lock as print_lock() shows it now: with the bit just set. */
    private static LockdepReport.HeldLock withUsage(LockdepReport.HeldLock l, LockClass c) {
        return new LockdepReport.HeldLock(l.index(), l.className(), c.usage(), l.instanceName(), l.instance(),
                l.address(), l.read(), l.trylock());
    }
}
