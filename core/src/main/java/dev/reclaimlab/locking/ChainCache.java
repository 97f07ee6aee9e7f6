package dev.reclaimlab.locking;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * lock_chains / chainhash_table: the set of held-class chains already validated. Lookups are lock-free
 * (open addressing over a long[]); inserts happen under the graph lock only, so a seen chain costs a hash
 * and a probe and takes no lock.
 */
final class ChainCache {
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(long[].class);
    private static final int INITIAL = 1 << 10;

    private volatile long[] table = new long[INITIAL];
    private int size;

    /** iterate_chain_key(): folds one held lock (class and read/trylock flags) into the chain key; never 0. */
    static long mix(long prev, int classIdx, int flags) {
        long h = (prev ^ (((long) classIdx << 2) | flags)) * 0x9E3779B97F4A7C15L;
        h ^= h >>> 32;
        h *= 0xD6E8FEB86659FD93L;
        h ^= h >>> 32;
        return h == 0 ? 1 : h;
    }

    boolean contains(long key) {
        long[] t = table;
        int mask = t.length - 1;
        for (int i = (int) key & mask; ; i = (i + 1) & mask) {
            long v = (long) SLOT.getAcquire(t, i);
            if (v == key) {
                return true;
            }
            if (v == 0) {
                return false;
            }
        }
    }

    /** Adds a chain; caller holds the graph lock. Returns false if it was already there. */
    boolean add(long key) {
        if (contains(key)) {
            return false;
        }
        if ((size + 1) * 2 > table.length) {
            long[] bigger = new long[table.length * 2];
            for (long k : table) {
                if (k != 0) {
                    put(bigger, k);
                }
            }
            table = bigger;
        }
        put(table, key);
        size++;
        return true;
    }

    int size() {
        return size;
    }

    private static void put(long[] t, long key) {
        int mask = t.length - 1;
        int i = (int) key & mask;
        while ((long) SLOT.getAcquire(t, i) != 0) {
            i = (i + 1) & mask;
        }
        SLOT.setRelease(t, i, key);
    }
}
