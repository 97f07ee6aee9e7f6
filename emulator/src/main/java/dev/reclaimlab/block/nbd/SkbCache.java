package dev.reclaimlab.block.nbd;

import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.SpinLock;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.swap.Mm22;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The memory of 2.2's skb data for messages of up to 2 KiB: the size-2048 general cache of 2.2's slab,
 * whose slabs are single pages holding two objects. A page comes from the page allocator with the
 * sender's gfp mask when no half is free, and goes back when both of its halves are free. (The core's
 * SLUB would give kmalloc-2k order-3 slabs, which 2.2's allocator cannot promise.)
 */
final class SkbCache {
    static final int OBJ_SIZE = 2048;
    private static final LockClassKey LOCK = new LockClassKey("size-2048 cache lock");

    private final Mm22 mm;
    private final SpinLock lock = new SpinLock("size-2048 cache lock", LOCK);
    // Pages with one free half, and how many halves of each page are in use.
    private final ArrayDeque<Integer> partial = new ArrayDeque<>();
    private final Map<Integer, int[]> inuse = new HashMap<>();

    SkbCache(Mm22 mm) {
        this.mm = mm;
    }

    /** An object's kernel address, or 0 when no page could be had with {@code gfp}. */
    long alloc(int gfp) {
        lock.spinLock();
        try {
            Integer pfn = partial.poll();
            if (pfn != null) {
                int[] use = inuse.get(pfn);
                int half = use[0] == 1 ? 1 : 0;
                use[0] |= 1 << half;
                return mm.mem().pageAddress(pfn) + (long) half * OBJ_SIZE;
            }
        } finally {
            lock.spinUnlock();
        }
        int pfn = mm.getFreePage(gfp);
        if (pfn < 0) {
            return 0;
        }
        lock.spinLock();
        try {
            inuse.put(pfn, new int[] {1});
            partial.add(pfn);
        } finally {
            lock.spinUnlock();
        }
        return mm.mem().pageAddress(pfn);
    }

    void free(long addr) {
        int pfn = mm.mem().virtToPfn(addr);
        int half = (int) ((addr & (PhysMem.PAGE_SIZE - 1)) / OBJ_SIZE);
        boolean last;
        lock.spinLock();
        try {
            int[] use = inuse.get(pfn);
            if (use == null || (use[0] & (1 << half)) == 0) {
                throw new IllegalStateException("kfree_skb: 0x" + Long.toHexString(addr) + " is not an allocated skb");
            }
            use[0] &= ~(1 << half);
            last = use[0] == 0;
            if (last) {
                inuse.remove(pfn);
                partial.remove(pfn);
            } else {
                partial.add(pfn);
            }
        } finally {
            lock.spinUnlock();
        }
        if (last) {
            mm.freePage(pfn);
        }
    }
}
