package dev.reclaimlab.locking;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

/**
 * A set of lock instance ids ({@link LockdepMap#instance()}) for verdicts: one side of one class (held
 * across a reclaim-capable allocation, taken in reclaim, held or taken on a watched dependency). A
 * repeated id costs a lock-free probe; a new one takes this set's monitor. Until a report watches the set
 * it keeps at most {@link #BUDGET} ids and then only counts that it dropped some, so a kernel with
 * hundreds of thousands of inodes pays a bounded price (64 KiB per class and side); once watched it grows
 * without bound. The budget covers the few thousand inode lifetimes a scenario goes through before its
 * first report (seed 002's comes while the tree is being made), so its verdict counts every use.
 */
final class InstanceSet {
    static final int BUDGET = 4096;
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(long[].class);

    private volatile long[] table = new long[16];
    private int size;
    private volatile boolean unbounded;
    private volatile boolean saturated;

    /** Records {@code id} (never 0). */
    void add(long id) {
        if (contains(table, id) || (saturated && !unbounded)) {
            return;
        }
        addSlow(id);
    }

    private synchronized void addSlow(long id) {
        long[] t = table;
        if (contains(t, id)) {
            return;
        }
        if (!unbounded && size >= BUDGET) {
            saturated = true;
            return;
        }
        if ((size + 1) * 2 > t.length) {
            long[] bigger = new long[t.length * 2];
            for (long v : t) {
                if (v != 0) {
                    put(bigger, v);
                }
            }
            t = bigger;
            table = t;
        }
        put(t, id);
        size++;
    }

    /** From now on every id is kept: a report depends on this set. */
    synchronized void unbound() {
        unbounded = true;
    }

    /** Whether ids were dropped before the set was watched. */
    boolean saturated() {
        return saturated;
    }

    synchronized int size() {
        return size;
    }

    /** The ids, sorted. */
    synchronized long[] snapshot() {
        long[] out = new long[size];
        int n = 0;
        for (long v : table) {
            if (v != 0) {
                out[n++] = v;
            }
        }
        Arrays.sort(out);
        return out;
    }

    /** How many ids both sets hold. */
    static int common(InstanceSet a, InstanceSet b) {
        long[] x = a.snapshot();
        long[] y = b.snapshot();
        int i = 0;
        int j = 0;
        int n = 0;
        while (i < x.length && j < y.length) {
            if (x[i] == y[j]) {
                n++;
                i++;
                j++;
            } else if (x[i] < y[j]) {
                i++;
            } else {
                j++;
            }
        }
        return n;
    }

    private static boolean contains(long[] t, long id) {
        int mask = t.length - 1;
        for (int i = hash(id) & mask; ; i = (i + 1) & mask) {
            long v = (long) SLOT.getAcquire(t, i);
            if (v == id) {
                return true;
            }
            if (v == 0) {
                return false;
            }
        }
    }

    private static void put(long[] t, long id) {
        int mask = t.length - 1;
        int i = hash(id) & mask;
        while ((long) SLOT.getAcquire(t, i) != 0) {
            i = (i + 1) & mask;
        }
        SLOT.setRelease(t, i, id);
    }

    private static int hash(long id) {
        long h = id * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32));
    }
}
