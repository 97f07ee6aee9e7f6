package dev.reclaimlab.locking;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A dependency prev -> next that a report's cycle goes through. For its verdict it records which instance
 * of prev was held while which instance of next was taken (not trylocked), only in reclaim when the cycle's
 * step is one reclaim takes. A repeated pair costs a lock-free probe; a new pair takes the monitor.
 */
final class WatchedEdge {
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(long[].class);

    final LockClass prev;
    final LockClass next;
    final boolean belowReclaim;
    final InstanceSet held = new InstanceSet();
    final InstanceSet taken = new InstanceSet();
    /** Pairs: [2i] the held instance (0 = empty), [2i + 1] the taken one, written taken first. */
    private volatile long[] pairs = new long[32];
    private int size;

    WatchedEdge(LockClass prev, LockClass next, boolean belowReclaim) {
        this.prev = prev;
        this.next = next;
        this.belowReclaim = belowReclaim;
        held.unbound();
        taken.unbound();
    }

    /** Records that {@code h} (of prev) was held while {@code t} (of next) was taken. */
    void add(long h, long t) {
        if (find(pairs, h, t) >= 0) {
            return;
        }
        addSlow(h, t);
    }

    private synchronized void addSlow(long h, long t) {
        long[] p = pairs;
        if (find(p, h, t) >= 0) {
            return;
        }
        if ((size + 1) * 2 > p.length / 2) {
            long[] bigger = new long[p.length * 2];
            for (int i = 0; i < p.length; i += 2) {
                if (p[i] != 0) {
                    put(bigger, p[i], p[i + 1]);
                }
            }
            p = bigger;
            pairs = p;
        }
        put(p, h, t);
        size++;
        held.add(h);
        taken.add(t);
    }

    /** The pairs, as {held, taken} rows. */
    synchronized long[][] snapshot() {
        long[][] out = new long[size][];
        long[] p = pairs;
        int n = 0;
        for (int i = 0; i < p.length; i += 2) {
            if (p[i] != 0) {
                out[n++] = new long[] {p[i], p[i + 1]};
            }
        }
        return out;
    }

    private static int find(long[] p, long h, long t) {
        int slots = p.length / 2;
        int mask = slots - 1;
        for (int i = hash(h, t) & mask; ; i = (i + 1) & mask) {
            long v = (long) SLOT.getAcquire(p, 2 * i);
            if (v == 0) {
                return -1;
            }
            if (v == h && (long) SLOT.getAcquire(p, 2 * i + 1) == t) {
                return i;
            }
        }
    }

    private static void put(long[] p, long h, long t) {
        int mask = p.length / 2 - 1;
        int i = hash(h, t) & mask;
        while ((long) SLOT.getAcquire(p, 2 * i) != 0) {
            i = (i + 1) & mask;
        }
        SLOT.setRelease(p, 2 * i + 1, t);
        SLOT.setRelease(p, 2 * i, h);
    }

    private static int hash(long h, long t) {
        long x = (h * 31 + t) * 0x9E3779B97F4A7C15L;
        return (int) (x ^ (x >>> 32));
    }
}
