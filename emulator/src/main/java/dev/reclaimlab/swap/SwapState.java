package dev.reclaimlab.swap;

import dev.reclaimlab.block.request.BlockDriver22;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.Sleep;
import dev.reclaimlab.locking.SpinLock;
import dev.reclaimlab.locking.WaitKind;
import dev.reclaimlab.locking.WaitList;
import dev.reclaimlab.locking.Waitable;
import dev.reclaimlab.locking.WakerSink;
import dev.reclaimlab.mm.Gfp22;
import dev.reclaimlab.mm.PhysMem;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One swap area and the swap cache, as mm/swapfile.c and mm/swap_state.c of Linux 2.2 keep them: swap_map[]
 * counts the users of each entry (process ptes and the swap cache), swap_lockmap holds an entry while its
 * page is under IO, and the swap cache is the page cache of swapper_inode, keyed by entry. A swap entry is
 * SWP_ENTRY(type, offset) = type << 1 | offset << 8 (i386), never present in a pte. Slot 0 is the header.
 * 2.2 serialised this with the big kernel lock; here swap_lock and pagecache_lock do.
 */
public final class SwapState {
    private static final LockClassKey SWAP_LOCK = new LockClassKey("swap_lock");
    /** SWAP_MAP_MAX. */
    static final int SWAP_MAP_MAX = 0x7fff;

    private final Mm22 mm;
    private final Mapping22 swapper = new Mapping22("swapper_inode");
    private final SpinLock swapLock = new SpinLock("swap_lock", SWAP_LOCK);
    private volatile BlockDriver22 dev;
    private short[] swapMap;
    private int lowestBit;
    private int highestBit;
    private int nrFree;
    private AtomicIntegerArray lockmap;
    private Page22[] lockHolder;
    private final WaitList lockQueue = new WaitList();
    private final AtomicLong swapCachePages = new AtomicLong();
    private final AtomicLong swapCacheAdds = new AtomicLong();
    private final AtomicLong swapCacheDeletes = new AtomicLong();

    SwapState(Mm22 mm) {
        this.mm = mm;
    }

    public static long swpEntry(int type, long offset) {
        return ((long) type << 1) | (offset << 8);
    }

    public static int swpOffset(long entry) {
        return (int) (entry >>> 8);
    }

    /** sys_swapon() for a swap partition of PAGE_SIZE blocks. */
    void swapon(BlockDriver22 d) {
        if (dev != null) {
            throw new IllegalStateException("swapon(" + d.name() + "): " + dev.name() + " is already the swap area");
        }
        if (d.blockSize() != PhysMem.PAGE_SIZE) {
            throw new IllegalArgumentException("swapon(" + d.name() + "): a swap partition has " + PhysMem.PAGE_SIZE
                    + "-byte blocks, not " + d.blockSize());
        }
        int n = (int) Math.min(Integer.MAX_VALUE / 2, d.nrBlocks());
        swapLock.spinLock();
        try {
            swapMap = new short[n];
            lockmap = new AtomicIntegerArray(n);
            lockHolder = new Page22[n];
            lowestBit = 1;
            highestBit = n - 1;
            nrFree = n - 1;
            dev = d;
        } finally {
            swapLock.spinUnlock();
        }
    }

    public BlockDriver22 dev() {
        return dev;
    }

    public int nrSwapPages() {
        return nrFree;
    }

    public long swapCachePages() {
        return swapCachePages.get();
    }

    public long swapCacheAdds() {
        return swapCacheAdds.get();
    }

    public long swapCacheDeletes() {
        return swapCacheDeletes.get();
    }

    /** get_swap_page(): a free entry with one user, or 0 when swap is full (or off). */
    long getSwapPage() {
        if (dev == null) {
            return 0;
        }
        swapLock.spinLock();
        try {
            for (int off = lowestBit; off <= highestBit; off++) {
                if (swapMap[off] == 0) {
                    swapMap[off] = 1;
                    nrFree--;
                    lowestBit = off + 1;
                    return swpEntry(0, off);
                }
            }
            return 0;
        } finally {
            swapLock.spinUnlock();
        }
    }

    private int checkEntry(long entry, String who) {
        int off = swpOffset(entry);
        if ((entry & 0xff) != 0 || off <= 0 || swapMap == null || off >= swapMap.length) {
            throw new IllegalArgumentException(who + ": bad swap entry 0x" + Long.toHexString(entry));
        }
        return off;
    }

    /** swap_duplicate(): one more user; false for an entry nobody uses. */
    boolean swapDuplicate(long entry) {
        int off = checkEntry(entry, "swap_duplicate");
        swapLock.spinLock();
        try {
            if (swapMap[off] == 0) {
                return false;
            }
            if (swapMap[off] < SWAP_MAP_MAX) {
                swapMap[off]++;
            }
            return true;
        } finally {
            swapLock.spinUnlock();
        }
    }

    /** swap_free(): one user fewer; the entry is free at zero. */
    void swapFree(long entry) {
        int off = checkEntry(entry, "swap_free");
        swapLock.spinLock();
        try {
            if (swapMap[off] == 0) {
                throw new IllegalStateException("swap_free: swap entry 0x" + Long.toHexString(entry) + " is unused");
            }
            if (swapMap[off] < SWAP_MAP_MAX && --swapMap[off] == 0) {
                nrFree++;
                if (off < lowestBit) {
                    lowestBit = off;
                }
            }
        } finally {
            swapLock.spinUnlock();
        }
    }

    /** swap_count(). */
    int swapCount(long entry) {
        int off = checkEntry(entry, "swap_count");
        return swapMap[off];
    }

    /** add_to_swap_cache(): the swap cache takes a reference; page->inode = &swapper_inode. */
    boolean addToSwapCache(Page22 page, long entry) {
        PageCache pc = mm.pageCache();
        pc.lock().spinLock();
        try {
            if (page.inode != null || page.testAndSet(Page22.PG_swap_cache)) {
                throw new IllegalStateException("swap_cache: replacing non-empty entry on " + page);
            }
            if (swapper.pages.containsKey(entry)) {
                page.clear(Page22.PG_swap_cache);
                return false;
            }
            mm.getPage(page.pfn());
            page.offset = entry;
            page.inode = swapper;
            swapper.pages.put(entry, page);
        } finally {
            pc.lock().spinUnlock();
        }
        swapCachePages.incrementAndGet();
        swapCacheAdds.incrementAndGet();
        return true;
    }

    /** remove_from_swap_cache() under pagecache_lock: unhash and clear PG_swap_cache; returns the entry. */
    private long unhashLocked(Page22 page) {
        long entry = page.offset;
        if (swapper.pages.get(entry) == page) {
            swapper.pages.remove(entry);
        }
        page.inode = null;
        page.clear(Page22.PG_swap_cache);
        return entry;
    }

    /** delete_from_swap_cache(): out of the cache, its swap reference and its page reference dropped. */
    void deleteFromSwapCache(Page22 page) {
        PageCache pc = mm.pageCache();
        long entry;
        pc.lock().spinLock();
        try {
            if (!page.swapCache()) {
                throw new IllegalStateException("delete_from_swap_cache: " + page + " is not in the swap cache");
            }
            entry = unhashLocked(page);
        } finally {
            pc.lock().spinUnlock();
        }
        finishDelete(page, entry);
    }

    private void finishDelete(Page22 page, long entry) {
        swapCachePages.decrementAndGet();
        swapCacheDeletes.incrementAndGet();
        swapFree(entry);
        mm.freePage(page.pfn());
    }

    /** shrink_mmap()'s swap-cache step, checked again under the lock: only the cache holds the page. */
    boolean tryDeleteForShrink(Page22 page, boolean referenced) {
        PageCache pc = mm.pageCache();
        long entry;
        pc.lock().spinLock();
        try {
            if (!page.swapCache() || page.locked() || mm.pageCount(page.pfn()) != 1) {
                return false;
            }
            if (referenced && swapCount(page.offset) != 1) {
                return false;
            }
            entry = unhashLocked(page);
        } finally {
            pc.lock().spinUnlock();
        }
        finishDelete(page, entry);
        return true;
    }

    /** lookup_swap_cache(): the cached page with a reference, after its IO; or null. */
    Page22 lookupSwapCache(long entry) {
        for (;;) {
            Page22 p = mm.pageCache().findPage(swapper, entry);
            if (p == null) {
                return null;
            }
            if (!p.swapCache() || p.inode != swapper) {
                mm.freePage(p.pfn());
                return null;
            }
            if (!p.locked()) {
                return p;
            }
            p.waitOnPage();
            mm.freePage(p.pfn());
        }
    }

    /**
     * read_swap_cache_async(): the page of {@code entry} from the swap cache, or a new GFP_USER page added to
     * it and read with rw_swap_page(READ); null when the entry is unused or no page can be had.
     */
    Page22 readSwapCacheAsync(long entry, boolean wait) {
        if (!swapDuplicate(entry)) {
            return null;
        }
        Page22 found = lookupSwapCache(entry);
        if (found != null) {
            swapFree(entry);
            return found;
        }
        int pfn = mm.getFreePage(Gfp22.GFP_USER);
        if (pfn < 0) {
            swapFree(entry);
            return null;
        }
        found = lookupSwapCache(entry);
        if (found != null) {
            mm.freePage(pfn);
            swapFree(entry);
            return found;
        }
        Page22 np = mm.page(pfn);
        // Locked before another task can find it in the swap cache (2.2 did not sleep in between).
        np.set(Page22.PG_locked);
        if (!addToSwapCache(np, entry)) {
            np.clear(Page22.PG_locked);
            mm.freePage(pfn);
            swapFree(entry);
            return lookupSwapCache(entry);
        }
        mm.pageIo().rwSwapPage(PageIo.READ, entry, np, wait);
        return np;
    }

    /** free_page_and_swap_cache(): an unshared swap-cache page leaves the cache, then our reference goes. */
    void freePageAndSwapCache(Page22 page) {
        if (page.swapCache() && mm.pageCount(page.pfn()) <= 2 && !page.locked()) {
            PageCache pc = mm.pageCache();
            long entry = -1;
            pc.lock().spinLock();
            try {
                if (page.swapCache() && mm.pageCount(page.pfn()) <= 2 && !page.locked()) {
                    entry = unhashLocked(page);
                }
            } finally {
                pc.lock().spinUnlock();
            }
            if (entry >= 0) {
                finishDelete(page, entry);
            }
        }
        mm.freePage(page.pfn());
    }

    /** rw_swap_page_base()'s swap_lockmap: the entry is held while its page is under IO. */
    void lockEntry(int off, Page22 page) {
        if (lockmap.compareAndSet(off, 0, 1)) {
            lockHolder[off] = page;
            return;
        }
        Task t = Task.current();
        t.mightSleep("swap_lockmap");
        mm.blk().runTqDisk();
        Sleep.sleep(t, new EntryWait(off), WaitKind.WAITQUEUE, Task.TASK_UNINTERRUPTIBLE, -1, lockQueue,
                () -> lockmap.compareAndSet(off, 0, 1));
        lockHolder[off] = page;
    }

    /** swap_after_unlock_page(): the entry's IO is done. */
    void swapAfterUnlockPage(long entry) {
        int off = checkEntry(entry, "swap_after_unlock_page");
        lockHolder[off] = null;
        if (!lockmap.compareAndSet(off, 1, 0)) {
            mm.kernel().printk("swap_after_unlock_page: lock already cleared for entry 0x" + Long.toHexString(entry));
        }
        lockQueue.wakeAll();
    }

    /** sleep_on(&lock_queue) for one entry: the page whose IO holds it will release it. */
    private final class EntryWait implements Waitable {
        private final int off;

        EntryWait(int off) {
            this.off = off;
        }

        @Override
        public String name() {
            return "swap_lockmap entry " + off;
        }

        @Override
        public void wakers(WakerSink out) {
            Page22 p = lockHolder[off];
            if (p != null) {
                p.wakers(out);
            }
        }
    }
}
