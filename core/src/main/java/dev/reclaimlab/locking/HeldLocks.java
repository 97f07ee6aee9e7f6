package dev.reclaimlab.locking;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * task_struct::held_locks and lockdep_depth: the locks a task holds, in acquisition order, with the chain
 * key of each prefix, and the task's reclaim state for lockdep (lockdep_reclaim_gfp before 4.14; whether it
 * holds fs_reclaim after). Written only by its task; other threads read it racily (debug_show_all_locks()).
 */
public final class HeldLocks {
    /** MAX_LOCK_DEPTH in the kernel. */
    public static final int MAX_LOCK_DEPTH = 48;
    /** held_lock::read in the low two bits: 0, 1 (down_read) or 2 (recursive read). */
    static final int READ_MASK = 3;
    static final int TRYLOCK = 4;
    private static final VarHandle DEPTH;

    static {
        try {
            DEPTH = MethodHandles.lookup().findVarHandle(HeldLocks.class, "depth", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final LockdepMap[] maps = new LockdepMap[MAX_LOCK_DEPTH];
    final LockClass[] classes = new LockClass[MAX_LOCK_DEPTH];
    final int[] flags = new int[MAX_LOCK_DEPTH];
    final long[] chainKeys = new long[MAX_LOCK_DEPTH];
    /** The instance each entry was taken as (a later newInstance() does not change a held entry). */
    final long[] instances = new long[MAX_LOCK_DEPTH];
    @SuppressWarnings("unused") // accessed through DEPTH
    private int depth;
    /** current->lockdep_reclaim_gfp (lockdep_set_current_reclaim_state(), before 4.14). */
    int reclaimGfp;
    /** How many fs_reclaim acquisitions this task holds (4.14 and later). */
    int fsReclaimHeld;

    int depth() {
        return depth;
    }

    static int read(int fl) {
        return fl & READ_MASK;
    }

    static boolean trylock(int fl) {
        return (fl & TRYLOCK) != 0;
    }

    /** Pushes a lock; the depth is published with release so a racy reader sees filled slots. */
    void push(LockdepMap map, LockClass cls, int fl, long chainKey) {
        int d = depth;
        if (d >= MAX_LOCK_DEPTH) {
            throw new IllegalStateException("BUG: MAX_LOCK_DEPTH too low! taking " + map + " with " + d
                    + " locks held");
        }
        maps[d] = map;
        classes[d] = cls;
        flags[d] = fl;
        chainKeys[d] = chainKey;
        instances[d] = map.instance();
        DEPTH.setRelease(this, d + 1);
    }

    long topChainKey() {
        int d = depth;
        return d == 0 ? 0 : chainKeys[d - 1];
    }

    /** Index of the innermost entry for {@code map}, or -1. */
    int find(LockdepMap map) {
        for (int i = depth - 1; i >= 0; i--) {
            if (maps[i] == map) {
                return i;
            }
        }
        return -1;
    }

    /** Index of the innermost entry of class {@code c}, or -1. */
    int findClass(LockClass c) {
        for (int i = depth - 1; i >= 0; i--) {
            if (classes[i] == c) {
                return i;
            }
        }
        return -1;
    }

    /** Removes entry {@code i}, re-deriving the chain keys of the entries above it, as reacquire does. */
    void remove(int i) {
        int d = depth;
        if (i == d - 1) {
            maps[i] = null;
            classes[i] = null;
            DEPTH.setRelease(this, d - 1);
            return;
        }
        for (int j = i; j < d - 1; j++) {
            maps[j] = maps[j + 1];
            classes[j] = classes[j + 1];
            flags[j] = flags[j + 1];
            instances[j] = instances[j + 1];
            chainKeys[j] = ChainCache.mix(j == 0 ? 0 : chainKeys[j - 1], classes[j].idx, flags[j]);
        }
        maps[d - 1] = null;
        classes[d - 1] = null;
        DEPTH.setRelease(this, d - 1);
    }

    /** Changes entry {@code i} from write to read = 1 (downgrade_write()). */
    void downgrade(int i) {
        int d = depth;
        flags[i] = (flags[i] & ~READ_MASK) | Lockdep.READ;
        for (int j = i; j < d; j++) {
            chainKeys[j] = ChainCache.mix(j == 0 ? 0 : chainKeys[j - 1], classes[j].idx, flags[j]);
        }
    }

    /** The held locks as data, outermost first (racy when read from another thread). */
    public List<LockdepReport.HeldLock> snapshot() {
        return snapshotExcept(null);
    }

    /**
     * As {@link #snapshot()}, leaving out {@code pending} if it is the innermost entry: lockdep records a
     * lock before its owner gets it, so a blocked task's top entry is the lock it still waits for.
     */
    public List<LockdepReport.HeldLock> snapshotExcept(LockdepMap pending) {
        int d = Math.min((int) DEPTH.getAcquire(this), MAX_LOCK_DEPTH);
        List<LockdepReport.HeldLock> out = new ArrayList<>(d);
        for (int i = 0; i < d; i++) {
            LockdepMap m = maps[i];
            LockClass c = classes[i];
            if (m == null || c == null || (i == d - 1 && m == pending)) {
                continue;
            }
            out.add(LockdepReport.HeldLock.of(out.size(), m, c, flags[i], instances[i]));
        }
        return out;
    }

    /** The held locks as lockdep_print_held_locks() prints each: " (class){usage}, instance name", outermost first. */
    public List<String> describe() {
        return describeExcept(null);
    }

    /** As {@link #describe()}, without a still-pending innermost {@code pending} (see {@link #snapshotExcept}). */
    public List<String> describeExcept(LockdepMap pending) {
        List<String> out = new ArrayList<>();
        for (LockdepReport.HeldLock h : snapshotExcept(pending)) {
            out.add(LockdepText.heldLine(h));
        }
        return out;
    }

    /** Whether the task holds {@code map} (racy when called from another thread). */
    public boolean holds(LockdepMap map) {
        int d = Math.min((int) DEPTH.getAcquire(this), MAX_LOCK_DEPTH);
        for (int i = 0; i < d; i++) {
            if (maps[i] == map) {
                return true;
            }
        }
        return false;
    }
}
