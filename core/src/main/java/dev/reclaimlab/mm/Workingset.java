package dev.reclaimlab.mm;

import dev.reclaimlab.locking.RawSpinLock;

import java.util.concurrent.atomic.AtomicLong;

/**
 * mm/workingset.c as in Linux 4.3 (since 3.15): reclaim leaves a shadow entry where it evicts a page-cache
 * page, holding the zone's eviction clock; a fault on the shadow activates the page if it was evicted less
 * than the active list ago. A leaf left holding only shadows goes on a list of shadow nodes
 * (workingset_shadow_nodes), and the shadow-node shrinker frees the oldest of them once they exceed what
 * memory allows (count_shadow_nodes(): present pages >> 4, about 2% of memory).
 *
 * <p>So the page cache's radix tree nodes outlive their pages: a file streamed through memory keeps its
 * nodes until the shrinker takes them, in the order the stream made them, and the radix_tree_node slab
 * grows and shrinks in runs rather than object by object. The emulator has one zone and one node.
 *
 * <p>Locking: the list is guarded by its own lock, taken inside a mapping's xa_lock when a node joins or
 * leaves; the shrinker, going the other way, only trylocks xa_lock under it (shadow_lru_isolate()).
 */
public final class Workingset {
    /** Bits of the eviction counter a shadow keeps (the kernel packs zone and node ids beside it). */
    private static final long EVICTION_MASK = (1L << 60) - 1;

    private final Mm mm;
    private final PhysMem mem;
    private final AtomicLong inactiveAge = new AtomicLong();
    private final RawSpinLock lruLock = new RawSpinLock("workingset_shadow_nodes.lock");
    // Guarded by lruLock: oldest at head.
    private long head;
    private long tail;
    private long nrNodes;
    private final Shrinker shrinker = new ShadowShrinker();

    Workingset(Mm mm) {
        this.mm = mm;
        this.mem = mm.mem();
    }

    /** workingset_eviction(): the shadow to leave for a page reclaim evicts. */
    long workingsetEviction() {
        return XArray.XA_EXCEPTIONAL | (inactiveAge.incrementAndGet() & EVICTION_MASK);
    }

    /**
     * workingset_refault(): whether the page faulting back in over {@code shadow} was evicted less than
     * the active list ago, so that it would have stayed had the active list been that much smaller.
     */
    boolean workingsetRefault(long shadow) {
        long eviction = shadow & EVICTION_MASK;
        long refaultDistance = (inactiveAge.get() - eviction) & EVICTION_MASK;
        mm.modState(VmStatItem.WORKINGSET_REFAULT, 1);
        if (refaultDistance <= mm.vmstat().get(VmStatItem.NR_ACTIVE_FILE)) {
            mm.modState(VmStatItem.WORKINGSET_ACTIVATE, 1);
            return true;
        }
        return false;
    }

    /** workingset_activation(): a page was activated; it counts as an eviction pressure on the inactive list. */
    void workingsetActivation() {
        inactiveAge.incrementAndGet();
    }

    /** The index hooks every page cache's XArray reports its shadow-only leaves to. */
    XArray.ShadowNodes hooksFor() {
        return hooks;
    }

    private final XArray.ShadowNodes hooks = new XArray.ShadowNodes() {
        @Override
        public void track(long node) {
            lruLock.lock();
            try {
                listAddTail(node);
            } finally {
                lruLock.unlock();
            }
        }

        @Override
        public void untrack(long node) {
            lruLock.lock();
            try {
                listDel(node);
            } finally {
                lruLock.unlock();
            }
        }
    };

    /** The shadow-node shrinker, registered at boot. */
    Shrinker shrinker() {
        return shrinker;
    }

    /** Shadow-only nodes on the list (racy). */
    public long nrShadowNodes() {
        return nrNodes;
    }

    // ---------------------------------------------------------------- the list (lruLock held)

    private void listAddTail(long node) {
        mem.putLongRaw(node + XArray.NODE_LIST_PREV, tail);
        mem.putLongRaw(node + XArray.NODE_LIST_NEXT, 0);
        if (tail != 0) {
            mem.putLongRaw(tail + XArray.NODE_LIST_NEXT, node);
        } else {
            head = node;
        }
        tail = node;
        nrNodes++;
        markTracked(node, true);
    }

    private void listDel(long node) {
        unlink(node);
        mem.putLongRaw(node + XArray.NODE_LIST_PREV, 0);
        mem.putLongRaw(node + XArray.NODE_LIST_NEXT, 0);
        nrNodes--;
        markTracked(node, false);
    }

    /** Moves {@code node} from wherever it is on the list to the tail, touching nothing but the links. */
    private void listRotate(long node) {
        if (node == tail) {
            return;
        }
        unlink(node);
        mem.putLongRaw(node + XArray.NODE_LIST_PREV, tail);
        mem.putLongRaw(node + XArray.NODE_LIST_NEXT, 0);
        mem.putLongRaw(tail + XArray.NODE_LIST_NEXT, node);
        tail = node;
    }

    /** Takes {@code node} out of the list's links; its own links and the count are the caller's. */
    private void unlink(long node) {
        long prev = mem.getLongRaw(node + XArray.NODE_LIST_PREV);
        long next = mem.getLongRaw(node + XArray.NODE_LIST_NEXT);
        if (prev != 0) {
            mem.putLongRaw(prev + XArray.NODE_LIST_NEXT, next);
        } else {
            head = next;
        }
        if (next != 0) {
            mem.putLongRaw(next + XArray.NODE_LIST_PREV, prev);
        } else {
            tail = prev;
        }
    }

    private void markTracked(long node, boolean on) {
        long h = mem.getLongRaw(node + XArray.NODE_HEADER);
        mem.putLongRaw(node + XArray.NODE_HEADER, on ? h | (1L << 32) : h & ~(0xffL << 32));
    }

    // ---------------------------------------------------------------- the shrinker

    /** workingset_shadow_shrinker: count_shadow_nodes() and scan_shadow_nodes(); works under GFP_NOFS too. */
    private final class ShadowShrinker implements Shrinker {
        @Override
        public String name() {
            return "workingset_shadow_shrinker";
        }

        /** count_shadow_nodes(): the shadow nodes beyond present pages >> (1 + RADIX_TREE_MAP_SHIFT - 3). */
        @Override
        public long countObjects(ShrinkControl sc) {
            long maxNodes = mm.pageAlloc().managedPages() >> (1 + RadixTreePreload.RADIX_TREE_MAP_SHIFT - 3);
            long n = nrNodes;
            return n <= maxNodes ? 0 : n - maxNodes;
        }

        /**
         * scan_shadow_nodes(): frees up to nr_to_scan of the oldest shadow nodes. A node whose mapping's
         * xa_lock is busy is passed to the back of the list (the kernel retries the walk).
         */
        @Override
        public long scanObjects(ShrinkControl sc) {
            long freed = 0;
            for (long i = 0; i < sc.nrToScan; i++) {
                long node;
                XArray xa;
                lruLock.lock();
                try {
                    node = head;
                    if (node == 0) {
                        break;
                    }
                    AddressSpace mapping = mm.mappingById((int) mem.getLongRaw(node + XArray.NODE_PRIVATE_DATA));
                    if (mapping == null) {
                        throw new IllegalStateException("workingset: shadow node 0x" + Long.toHexString(node)
                                + " of a destroyed mapping is still on the list");
                    }
                    xa = mapping.pages;
                    // Coming from the list, the lock order is inverted: only try for the tree's lock.
                    if (!xa.xaLock.tryLock()) {
                        // LRU_ROTATE: the list links only. The tracked mark lives in the node's header word,
                        // which the tree's owner changes under xa_lock (counts): rewriting it here, without
                        // xa_lock, could lose the mark, and the node would later be freed still on the list.
                        listRotate(node);
                        continue;
                    }
                    listDel(node);
                } finally {
                    lruLock.unlock();
                }
                long dead;
                try {
                    dead = xa.reclaimShadowNodeLocked(node);
                } finally {
                    xa.xaLock.unlock();
                }
                xa.freeNodes(dead);
                mm.modState(VmStatItem.WORKINGSET_NODERECLAIM, 1);
                freed++;
            }
            return freed;
        }
    }
}
