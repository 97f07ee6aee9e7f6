package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.fs.SuperBlock;
import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.SpinLock;
import dev.reclaimlab.locking.Throttle;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.KmemCache;
import dev.reclaimlab.mm.PageAlloc;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.mm.ShrinkControl;
import dev.reclaimlab.mm.Shrinker;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * struct xfs_buf and the mount's buffer cache (fs/xfs/xfs_buf.c, the same in Linux 4.3 and 5.3) for the
 * directory blocks: xfs_buf_get_map() looks the block up first and allocates only on a miss, the header
 * from xfs_buf_zone with KM_NOFS (_xfs_buf_alloc()) and one page with xb_to_gfp() = GFP_NOFS |
 * __GFP_NOWARN (xfs_buf_allocate_memory(); a 4 KiB directory block is one page). Those KM_NOFS tags are
 * there so that lockdep never sees an allocation that can recurse into fs reclaim under the ILOCK of
 * readdir and lookup (Dave Chinner, Dec 2016 and in seed 002). Unheld buffers stay cached on an LRU with
 * b_lru_ref = XFS_DIR_BTREE_REF; the buftarg shrinker (xfs_buftarg_shrink_scan(), no __GFP_FS test, no
 * sleeping lock) ages them and frees the ones at zero, so a later read allocates again. A buffer the
 * shrinker disposes of while someone holds it is freed at its last release, as xfs_buf_rele() does.
 */
public final class XfsBuf {
    /**
     * Dave Chinner's proposal in the seed thread (22 Aug 2019): drop the lockdep-motivated KM_NOFS and
     * allocate buffer memory with GFP_KERNEL. Never done in that form; 5.3 and every kernel since used
     * NOFS or (6.x) __GFP_NOLOCKDEP here.
     */
    public static final Fix XFS_BUF_GFP_KERNEL = Fix.declare("xfs_buf_gfp_kernel",
            "xfs_buf headers and memory are allocated with GFP_KERNEL instead of KM_NOFS / GFP_NOFS",
            "proposed by Dave Chinner in \"Re: [PATCH 2/3] xfs: add kmem_alloc_io()\" (Aug 2019); not merged",
            null);
    /** The same allocations marked __GFP_NOLOCKDEP (the direction of 94a69db2367e, 2024). */
    public static final Fix XFS_BUF_NOLOCKDEP = Fix.declare("xfs_buf_nolockdep",
            "xfs_buf allocations carry __GFP_NOLOCKDEP, so lockdep ignores them",
            "the direction of 94a69db2367e \"xfs: use __GFP_NOLOCKDEP instead of GFP_NOFS\" (2024)", null);
    /** XFS_DIR_BTREE_REF: directory buffers survive two shrinker passes. */
    static final int XFS_DIR_BTREE_REF = 2;
    /** sizeof(struct xfs_buf) on x86-64, roughly. */
    static final int XFS_BUF_SIZE = 384;
    /** HZ/50, compressed as the emulator's congestion_wait(HZ/10) is 10 ms. */
    static final long CONGESTION_WAIT_HZ_50_NANOS = 2_000_000;
    private static final LockClassKey BUF_LOCK_KEY = new LockClassKey("&pag->pag_buf_lock");

    final long key;
    final int page;
    final long addr;
    private final long header;
    /** Guarded by the cache's lock. */
    private int hold = 1;
    private int lruRef = XFS_DIR_BTREE_REF;
    private boolean disposed;

    private XfsBuf(long key, int page, long addr, long header) {
        this.key = key;
        this.page = page;
        this.addr = addr;
        this.header = header;
    }

    /** The buffer cache of one mount (struct xfs_buftarg with the per-AG lookup), and its shrinker. */
    static final class Cache implements Shrinker {
        private final Xfs mp;
        private final Kernel kernel;
        private final KmemCache xfsBufZone;
        private final SpinLock bufLock = new SpinLock("pag_buf_lock", BUF_LOCK_KEY);
        private final Map<Long, XfsBuf> bufs = new HashMap<>();
        private final LinkedHashSet<XfsBuf> lru = new LinkedHashSet<>();
        private final int gfp;
        private final Throttle retryWait = new Throttle("xfs_buf_allocate_memory: congestion_wait(BLK_RW_ASYNC, HZ/50)");
        final AtomicLong allocated = new AtomicLong();
        final AtomicLong freed = new AtomicLong();

        Cache(Xfs mp) {
            this.mp = mp;
            this.kernel = mp.kernel();
            this.xfsBufZone = SuperBlock.kmemCacheGet(kernel.mm(), "xfs_buf", XFS_BUF_SIZE);
            int g = kernel.config().has(XFS_BUF_GFP_KERNEL) ? Gfp.GFP_KERNEL : Gfp.GFP_NOFS;
            this.gfp = g | (kernel.config().has(XFS_BUF_NOLOCKDEP) ? Gfp.__GFP_NOLOCKDEP : 0);
        }

        /** The gfp of every buffer allocation (KM_NOFS / xb_to_gfp(), or the variant's). */
        int gfp() {
            return gfp;
        }

        /**
         * xfs_buf_read_map() of block {@code key}: a cached buffer, held; else a new one allocated,
         * filled by {@code fill} (the read) and inserted, or dropped for one another reader inserted first.
         */
        XfsBuf xfsBufRead(long key, java.util.function.LongConsumer fill) {
            XfsBuf bp = xfsBufFind(key);
            if (bp != null) {
                return bp;
            }
            XfsBuf fresh = xfsBufAllocate(key);
            try {
                fill.accept(fresh.addr);
            } catch (RuntimeException | Error e) {
                free(fresh);
                throw e;
            }
            bufLock.spinLock();
            try {
                XfsBuf raced = bufs.get(key);
                if (raced == null) {
                    bufs.put(key, fresh);
                    return fresh;
                }
                raced.hold++;
                lru.remove(raced);
                bp = raced;
            } finally {
                bufLock.spinUnlock();
            }
            free(fresh);
            return bp;
        }

        /** xfs_buf_find() without a new buffer: the cached one, held, or null. */
        XfsBuf xfsBufFind(long key) {
            bufLock.spinLock();
            try {
                XfsBuf bp = bufs.get(key);
                if (bp != null) {
                    bp.hold++;
                    lru.remove(bp);
                }
                return bp;
            } finally {
                bufLock.spinUnlock();
            }
        }

        /**
         * _xfs_buf_alloc() + xfs_buf_allocate_memory(): the header, then one page. Neither may fail: as
         * kmem_zone_alloc() and xfs_buf_allocate_memory() do, a failed allocation is retried after
         * congestion_wait(BLK_RW_ASYNC, HZ/50), with "possible memory allocation deadlock" every 100 tries.
         */
        private XfsBuf xfsBufAllocate(long key) {
            long header;
            for (int retries = 0; (header = kernel.mm().kmemCacheAlloc(xfsBufZone, gfp)) == 0; ) {
                backOff(++retries, "kmem_zone_alloc");
            }
            int page;
            for (int retries = 0; (page = kernel.mm().allocPages(gfp | Gfp.__GFP_NOWARN, 0)) == PageAlloc.NULL_PAGE; ) {
                backOff(++retries, "xfs_buf_allocate_memory");
            }
            allocated.incrementAndGet();
            return new XfsBuf(key, page, kernel.mm().pageAddress(page), header);
        }

        private void backOff(int retries, String where) {
            mp.kmemBackOff(retryWait, retries, where, gfp);
        }

        /** xfs_buf_relse(): the last hold puts a cached buffer on the LRU, or frees a disposed one. */
        void xfsBufRelse(XfsBuf bp) {
            boolean free;
            bufLock.spinLock();
            try {
                if (bp.hold <= 0) {
                    throw new IllegalStateException("xfs_buf_rele(" + mp.devName() + ", block " + bp.key
                            + "): not held");
                }
                free = --bp.hold == 0 && bp.disposed;
                if (bp.hold == 0 && !bp.disposed) {
                    bp.lruRef = XFS_DIR_BTREE_REF;
                    lru.add(bp);
                }
            } finally {
                bufLock.spinUnlock();
            }
            if (free) {
                free(bp);
            }
        }

        /** Cached buffers whose key matches {@code owner} (the directory's blocks), held; for rewriting them. */
        List<XfsBuf> cachedOf(java.util.function.LongPredicate owner) {
            List<XfsBuf> out = new ArrayList<>();
            bufLock.spinLock();
            try {
                for (XfsBuf bp : bufs.values()) {
                    if (owner.test(bp.key)) {
                        bp.hold++;
                        lru.remove(bp);
                        out.add(bp);
                    }
                }
            } finally {
                bufLock.spinUnlock();
            }
            return out;
        }

        /** xfs_buf_stale() of a block that no longer exists: out of the cache, freed at its last release. */
        void xfsBufStale(XfsBuf bp) {
            bufLock.spinLock();
            try {
                if (bufs.get(bp.key) == bp) {
                    bufs.remove(bp.key);
                    bp.disposed = true;
                }
            } finally {
                bufLock.spinUnlock();
            }
        }

        private void free(XfsBuf bp) {
            kernel.mm().freePages(bp.page, 0);
            kernel.mm().kmemCacheFree(xfsBufZone, bp.header);
            freed.incrementAndGet();
        }

        /** Buffers cached and not yet freed. */
        int nrCached() {
            bufLock.spinLock();
            try {
                return bufs.size();
            } finally {
                bufLock.spinUnlock();
            }
        }

        /** xfs_wait_buftarg() at unmount: every cached buffer must be unheld; all are freed. */
        void xfsWaitBuftarg() {
            List<XfsBuf> out = new ArrayList<>();
            bufLock.spinLock();
            try {
                for (XfsBuf bp : bufs.values()) {
                    if (bp.hold > 0) {
                        throw new IllegalStateException("xfs_wait_buftarg(" + mp.devName() + "): block " + bp.key
                                + " still held");
                    }
                    out.add(bp);
                }
                bufs.clear();
                lru.clear();
            } finally {
                bufLock.spinUnlock();
            }
            out.forEach(this::free);
        }

        @Override
        public String name() {
            return "xfs_buftarg_shrink_scan-" + mp.devName();
        }

        /** xfs_buftarg_shrink_count(). */
        @Override
        public long countObjects(ShrinkControl sc) {
            bufLock.spinLock();
            try {
                return lru.size();
            } finally {
                bufLock.spinUnlock();
            }
        }

        /** xfs_buftarg_shrink_scan(): a buffer with b_lru_ref left loses one and rotates; at zero it is freed. */
        @Override
        public long scanObjects(ShrinkControl sc) {
            List<XfsBuf> dispose = new ArrayList<>();
            bufLock.spinLock();
            try {
                Iterator<XfsBuf> it = lru.iterator();
                List<XfsBuf> rotate = new ArrayList<>();
                for (long n = 0; n < sc.nrToScan && it.hasNext(); n++) {
                    XfsBuf bp = it.next();
                    it.remove();
                    sc.nrScanned++;
                    if (bp.lruRef > 0) {
                        bp.lruRef--;
                        rotate.add(bp);
                        continue;
                    }
                    bufs.remove(bp.key);
                    bp.disposed = true;
                    dispose.add(bp);
                }
                lru.addAll(rotate);
            } finally {
                bufLock.spinUnlock();
            }
            dispose.forEach(this::free);
            return dispose.size();
        }
    }

    /** The buffer's memory, for the directory code. */
    static PhysMem mem(Xfs mp) {
        return mp.kernel().mm().mem();
    }

    /** Blocks are PAGE_SIZE: one page per buffer. */
    static final int XFS_BUF_BYTES = PhysMem.PAGE_SIZE;
}
