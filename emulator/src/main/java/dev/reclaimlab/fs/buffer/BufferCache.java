package dev.reclaimlab.fs.buffer;

import dev.reclaimlab.block.request.Blk22;
import dev.reclaimlab.block.request.BlockDriver22;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.Sleep;
import dev.reclaimlab.locking.SpinLock;
import dev.reclaimlab.locking.WaitKind;
import dev.reclaimlab.mm.Gfp22;
import dev.reclaimlab.mm.KmemCache;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.swap.Mm22;
import dev.reclaimlab.swap.Page22;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongUnaryOperator;

/**
 * The buffer cache of fs/buffer.c as in Linux 2.2: buffers hashed by (device, block); getblk(), which never
 * fails but loops through refill_freelist(), growing the cache a page at a time with
 * __get_free_page(GFP_BUFFER) (no __GFP_IO: its reclaim never writes) and, when that fails, waiting for
 * bdflush to finish a pass (wakeup_bdflush(1)); bread(), which returns NULL on an IO error;
 * __wait_on_buffer(), where the waiter runs tq_disk itself; brw_page() for page IO with async heads;
 * generic_readpage(); try_to_free_buffers(), which never waits. 2.2 kept these lists under the big kernel
 * lock; here lru_list_lock (2.4's name) does. The reserved async heads (NR_RESERVED) are not modelled:
 * brw_page() always gets its heads.
 */
public final class BufferCache {
    private static final LockClassKey LRU_LIST_LOCK = new LockClassKey("lru_list_lock");
    private static final int[] SIZES = {512, 1024, 2048, 4096};
    /** bdf_prm.b_un: nfract (percent dirty to wake bdflush), ndirty (writes per pass), ages (jiffies of 10 ms). */
    static final int NFRACT = 40;
    static final int NDIRTY = 500;
    static final long AGE_BUFFER_NANOS = TimeUnit.SECONDS.toNanos(30);
    static final long AGE_SUPER_NANOS = TimeUnit.SECONDS.toNanos(5);

    private record Key(BlockDriver22 dev, long block) {
    }

    private final Mm22 mm;
    private final Blk22 blk;
    private final PhysMem mem;
    private final SpinLock lock = new SpinLock("lru_list_lock", LRU_LIST_LOCK);
    private final HashMap<Key, BufferHead> hash = new HashMap<>();
    private final List<LinkedHashSet<BufferHead>> freeList = new ArrayList<>();
    private final LinkedHashSet<BufferHead> dirtyList = new LinkedHashSet<>();
    private int nrBuffers;
    private final int[] nrBuffersType = new int[3];
    private final AtomicLong bufferPages = new AtomicLong();
    private final AtomicLong growFailures = new AtomicLong();
    private final KmemCache bhCachep;
    private final Bdflush bdflush;

    public BufferCache(Mm22 mm) {
        this.mm = mm;
        this.blk = mm.blk();
        this.mem = mm.mem();
        for (int i = 0; i < SIZES.length; i++) {
            freeList.add(new LinkedHashSet<>());
        }
        this.bhCachep = mm.kernel().mm().kmemCacheCreate("buffer_head", 96, 0, 0);
        this.bdflush = new Bdflush(this, mm);
    }

    /** Starts kflushd (bdflush) and update. */
    public void start() {
        bdflush.start();
    }

    Blk22 blk() {
        return blk;
    }

    public Bdflush bdflush() {
        return bdflush;
    }

    private static int sizeIndex(int size) {
        for (int i = 0; i < SIZES.length; i++) {
            if (SIZES[i] == size) {
                return i;
            }
        }
        throw new IllegalArgumentException("VFS: grow_buffers: size = " + size);
    }

    /** buffermem in pages. */
    public long bufferPages() {
        return bufferPages.get();
    }

    public int nrDirty() {
        return nrBuffersType[BufferHead.BUF_DIRTY];
    }

    public int nrBuffers() {
        return nrBuffers;
    }

    /** grow_buffers() calls that got no page or no heads. */
    public long growFailures() {
        return growFailures.get();
    }

    /** buffer_under_min(): buffermem below buffer_mem.min_percent (2%) of num_physpages. */
    public boolean bufferUnderMin() {
        return bufferPages.get() * 100 < 2L * mm.numPhyspages();
    }

    // ------------------------------------------------------------------ lookup and allocation

    /** get_hash_table(): the cached buffer with b_count raised, or null. */
    public BufferHead getHashTable(BlockDriver22 dev, long block, int size) {
        lock.spinLock();
        try {
            BufferHead bh = hash.get(new Key(dev, block));
            if (bh != null && bh.size == size) {
                bh.get();
                return bh;
            }
            return null;
        } finally {
            lock.spinUnlock();
        }
    }

    /** getblk(): the buffer for (dev, block), made from a free one if need be; never fails, may sleep. */
    public BufferHead getblk(BlockDriver22 dev, long block, int size) {
        // block < sizeBytes / size: (block + 1) * size overflowed for a huge block and let it through.
        if (size <= 0 || block < 0 || block >= dev.sizeBytes() / size) {
            throw new IllegalArgumentException("getblk(" + dev.name() + ", " + block + ", " + size
                    + "): beyond the device's " + dev.sizeBytes() + " bytes");
        }
        int isize = sizeIndex(size);
        Key key = new Key(dev, block);
        for (;;) {
            lock.spinLock();
            try {
                BufferHead bh = hash.get(key);
                if (bh != null) {
                    bh.get();
                    if (!bh.dirty()) {
                        bh.flushtime = 0;
                    }
                    return bh;
                }
                Iterator<BufferHead> it = freeList.get(isize).iterator();
                if (it.hasNext()) {
                    bh = it.next();
                    it.remove();
                    bh.dev = dev;
                    bh.blocknr = block;
                    bh.setCount(1);
                    bh.setStateBits(0);
                    bh.flushtime = 0;
                    bh.list = BufferHead.BUF_CLEAN;
                    nrBuffersType[BufferHead.BUF_CLEAN]++;
                    hash.put(key, bh);
                    bh.hashed = true;
                    return bh;
                }
            } finally {
                lock.spinUnlock();
            }
            refillFreelist(size);
        }
    }

    /** refill_freelist(): "We used to try various strange things. Let's not." */
    private void refillFreelist(int size) {
        if (!growBuffers(size)) {
            growFailures.incrementAndGet();
            wakeupBdflush(true);
            Thread.yield();
        }
    }

    /** grow_buffers(): one GFP_BUFFER page cut into buffers with SLAB_ATOMIC heads, or false. */
    private boolean growBuffers(int size) {
        int isize = sizeIndex(size);
        int pfn = mm.getFreePage(Gfp22.GFP_BUFFER);
        if (pfn < 0) {
            return false;
        }
        long page = mem.pageAddress(pfn);
        int n = PhysMem.PAGE_SIZE / size;
        BufferHead[] heads = new BufferHead[n];
        for (int i = 0; i < n; i++) {
            long obj = mm.kernel().mm().kmemCacheAlloc(bhCachep, Gfp22.SLAB_ATOMIC);
            if (obj == 0) {
                for (int j = 0; j < i; j++) {
                    mm.kernel().mm().kmemCacheFree(bhCachep, heads[j].kmemObj);
                }
                mm.freePage(pfn);
                return false;
            }
            heads[i] = new BufferHead(this, page + (long) i * size, pfn, size, false);
            heads[i].kmemObj = obj;
        }
        for (int i = 0; i < n; i++) {
            heads[i].thisPage = heads[(i + 1) % n];
        }
        lock.spinLock();
        try {
            for (BufferHead bh : heads) {
                freeList.get(isize).add(bh);
            }
            nrBuffers += n;
            mm.page(pfn).setBuffers(heads[0]);
        } finally {
            lock.spinUnlock();
        }
        bufferPages.incrementAndGet();
        return true;
    }

    /** bread(): the buffer read if need be, or null when the read failed. */
    public BufferHead bread(BlockDriver22 dev, long block, int size) {
        BufferHead bh = getblk(dev, block, size);
        touchBuffer(bh);
        return readBuffer(bh) ? bh : null;
    }

    /**
     * bread()'s second half for a buffer the caller already holds: ll_rw_block(READ) and wait_on_buffer() if
     * it is not uptodate. False, and the buffer released, when the read failed.
     */
    public boolean readBuffer(BufferHead bh) {
        if (bh.uptodate()) {
            return true;
        }
        blk.llRwBlock(Blk22.READ, bh);
        waitOnBuffer(bh);
        if (bh.uptodate()) {
            return true;
        }
        brelse(bh);
        return false;
    }

    /** touch_buffer(): the page is referenced for shrink_mmap(). */
    public void touchBuffer(BufferHead bh) {
        mm.page(bh.pfn).set(Page22.PG_referenced);
    }

    /** __brelse(): set_writetime(), refile, b_count--. */
    public void brelse(BufferHead bh) {
        if (bh == null) {
            return;
        }
        boolean wake;
        lock.spinLock();
        try {
            setWritetime(bh, false);
            wake = refileLocked(bh);
            bh.put();
        } finally {
            lock.spinUnlock();
        }
        if (wake) {
            wakeupBdflush(false);
        }
    }

    private void setWritetime(BufferHead bh, boolean superFlag) {
        if (bh.dirty()) {
            long t = System.nanoTime() + (superFlag ? AGE_SUPER_NANOS : AGE_BUFFER_NANOS);
            if (bh.flushtime == 0 || bh.flushtime > t) {
                bh.flushtime = t;
            }
        } else {
            bh.flushtime = 0;
        }
    }

    /** mark_buffer_dirty(bh, flag): flag 1 for metadata, which ages 5 s instead of 30 s. */
    public void markBufferDirty(BufferHead bh, boolean superFlag) {
        if (bh.testAndSet(BufferHead.BH_Dirty)) {
            return;
        }
        boolean wake;
        lock.spinLock();
        try {
            setWritetime(bh, superFlag);
            wake = refileLocked(bh);
        } finally {
            lock.spinUnlock();
        }
        if (wake) {
            wakeupBdflush(false);
        }
    }

    /** mark_buffer_uptodate(): and the page is uptodate once every buffer on it is. */
    public void markBufferUptodate(BufferHead bh, boolean on) {
        if (!on) {
            bh.clear(BufferHead.BH_Uptodate);
            return;
        }
        bh.set(BufferHead.BH_Uptodate);
        if (bh.async && bh.ring != null && bh.ring.allUptodate()) {
            bh.ring.page.set(Page22.PG_uptodate);
        }
    }

    /** refile_buffer(). */
    void refile(BufferHead bh) {
        boolean wake;
        lock.spinLock();
        try {
            wake = refileLocked(bh);
        } finally {
            lock.spinUnlock();
        }
        if (wake) {
            wakeupBdflush(false);
        }
    }

    /** Moves the buffer to the list its state says; true when too many are dirty (wake bdflush). */
    private boolean refileLocked(BufferHead bh) {
        if (bh.async || !bh.hashed) {
            return false;
        }
        int dispose = bh.dirty() ? BufferHead.BUF_DIRTY : bh.locked() ? BufferHead.BUF_LOCKED : BufferHead.BUF_CLEAN;
        if (dispose == bh.list) {
            return false;
        }
        nrBuffersType[bh.list]--;
        if (bh.list == BufferHead.BUF_DIRTY) {
            dirtyList.remove(bh);
        }
        bh.list = dispose;
        nrBuffersType[dispose]++;
        if (dispose == BufferHead.BUF_DIRTY) {
            dirtyList.add(bh);
            return nrBuffersType[BufferHead.BUF_DIRTY] > nrBuffers * NFRACT / 100;
        }
        return false;
    }

    // ------------------------------------------------------------------ IO

    /** ll_rw_block(). */
    public void llRwBlock(int rw, BufferHead... bhs) {
        blk.llRwBlock(rw, bhs);
    }

    /** wait_on_buffer() / __wait_on_buffer(): b_count held; tq_disk run by the waiter itself. */
    public void waitOnBuffer(BufferHead bh) {
        if (!bh.locked()) {
            return;
        }
        Task t = Task.current();
        t.mightSleep("wait_on_buffer");
        bh.get();
        try {
            blk.runTqDisk();
            Sleep.sleep(t, bh, WaitKind.BIT, Task.TASK_UNINTERRUPTIBLE, -1, bh.wait, () -> !bh.locked());
        } finally {
            bh.put();
        }
    }

    private void unlockBuffer(BufferHead bh) {
        bh.clear(BufferHead.BH_Lock);
        bh.wait.wakeAll();
    }

    /** end_buffer_io_sync(). */
    void endBufferIoSync(BufferHead bh, boolean uptodate) {
        markBufferUptodate(bh, uptodate);
        unlockBuffer(bh);
        refile(bh);
    }

    /** end_buffer_io_async(): the last head of the page's IO unlocks the page and runs after_unlock_page(). */
    void endBufferIoAsync(BufferHead bh, boolean uptodate) {
        markBufferUptodate(bh, uptodate);
        unlockBuffer(bh);
        AsyncRing ring = bh.ring;
        Page22 page = ring.page;
        if (!page.locked()) {
            mm.kernel().printk("Whoops: end_buffer_io_async: async io complete on unlocked page");
            return;
        }
        if (!uptodate) {
            page.set(Page22.PG_error);
        }
        bh.setCount(0);
        if (ring.pending.decrementAndGet() != 0) {
            return;
        }
        page.unlockPage();
        mm.pageIo().afterUnlockPage(page);
    }

    /**
     * brw_page(): IO on a locked page through async heads of {@code size} bytes. With {@code bmap} a block
     * number 0 is a hole (zeroed). A block the buffer cache already has is copied from (or into) the
     * cached buffer instead. May return before the IO is done; the page unlocks when it is.
     */
    public void brwPage(int rw, Page22 page, BlockDriver22 dev, long[] blocks, int size, boolean bmap) {
        if (!page.locked()) {
            throw new IllegalStateException("brw_page: page not locked for I/O: " + page);
        }
        page.clear(Page22.PG_uptodate);
        page.clear(Page22.PG_error);
        int n = PhysMem.PAGE_SIZE / size;
        if (blocks.length != n) {
            throw new IllegalArgumentException("brw_page: " + blocks.length + " blocks for " + n + " buffers of " + size);
        }
        BufferHead[] heads = new BufferHead[n];
        AsyncRing ring = new AsyncRing(page, heads);
        long addr = page.address();
        for (int i = 0; i < n; i++) {
            BufferHead bh = new BufferHead(this, addr + (long) i * size, page.pfn(), size, true);
            bh.dev = dev;
            bh.blocknr = blocks[i];
            bh.ring = ring;
            bh.setCount(1);
            bh.set(BufferHead.BH_Uptodate);
            heads[i] = bh;
        }
        for (int i = 0; i < n; i++) {
            heads[i].thisPage = heads[(i + 1) % n];
        }
        List<BufferHead> arr = new ArrayList<>(n);
        for (BufferHead bh : heads) {
            long block = bh.blocknr;
            if (bmap && block == 0) {
                mem.memset(bh.data, 0, size);
                bh.setCount(0);
                continue;
            }
            BufferHead tmp = getHashTable(dev, block, size);
            if (tmp != null) {
                if (!tmp.uptodate()) {
                    if (rw == Blk22.READ) {
                        blk.llRwBlock(Blk22.READ, tmp);
                    }
                    waitOnBuffer(tmp);
                }
                if (rw == Blk22.READ) {
                    mem.memcpy(bh.data, tmp.data, size);
                } else {
                    mem.memcpy(tmp.data, bh.data, size);
                    markBufferDirty(tmp, false);
                }
                brelse(tmp);
                bh.setCount(0);
                continue;
            }
            if (rw == Blk22.READ) {
                bh.clear(BufferHead.BH_Uptodate);
            } else {
                bh.set(BufferHead.BH_Dirty);
            }
            arr.add(bh);
        }
        if (arr.isEmpty()) {
            page.set(Page22.PG_uptodate);
            page.unlockPage();
            mm.pageIo().afterUnlockPage(page);
            return;
        }
        ring.pending.set(arr.size());
        page.setIo(ring);
        page.wakeWaiters();
        blk.llRwBlock(rw, arr.toArray(new BufferHead[0]));
    }

    /**
     * generic_readpage(): the page is locked, held for the IO (PG_free_after) and read block by block
     * through {@code bmap} (0 for a hole).
     */
    public int genericReadpage(Page22 page, BlockDriver22 dev, int blocksize, LongUnaryOperator bmap) {
        mm.getPage(page.pfn());
        page.set(Page22.PG_locked);
        page.set(Page22.PG_free_after);
        int n = PhysMem.PAGE_SIZE / blocksize;
        long first = page.offset() / blocksize;
        long[] nr = new long[n];
        for (int i = 0; i < n; i++) {
            nr[i] = bmap.applyAsLong(first + i);
        }
        brwPage(Blk22.READ, page, dev, nr, blocksize, true);
        return 0;
    }

    /**
     * try_to_free_buffers(): frees the page's buffers and the page if none is busy (b_count, dirty,
     * locked, protected); otherwise wakes bdflush and gives up. Never waits.
     */
    public boolean tryToFreeBuffers(Page22 page) {
        BufferHead[] heads;
        lock.spinLock();
        try {
            BufferHead first = page.buffers();
            if (first == null || mm.pageCount(page.pfn()) != 1) {
                return false;
            }
            List<BufferHead> ring = new ArrayList<>();
            BufferHead bh = first;
            do {
                if (bh.count() != 0 || (bh.stateBits() & ((1 << BufferHead.BH_Dirty) | (1 << BufferHead.BH_Lock)
                        | (1 << BufferHead.BH_Protected))) != 0) {
                    bh = null;
                    break;
                }
                ring.add(bh);
                bh = bh.thisPage;
            } while (bh != first);
            if (bh == null) {
                heads = null;
            } else {
                for (BufferHead b : ring) {
                    removeFromQueues(b);
                }
                nrBuffers -= ring.size();
                page.setBuffers(null);
                heads = ring.toArray(new BufferHead[0]);
            }
        } finally {
            lock.spinUnlock();
        }
        if (heads == null) {
            wakeupBdflush(false);
            return false;
        }
        for (BufferHead b : heads) {
            mm.kernel().mm().kmemCacheFree(bhCachep, b.kmemObj);
        }
        bufferPages.decrementAndGet();
        mm.freePage(page.pfn());
        return true;
    }

    private void removeFromQueues(BufferHead bh) {
        if (bh.dev == null) {
            freeList.get(sizeIndex(bh.size)).remove(bh);
            return;
        }
        if (bh.hashed) {
            hash.remove(new Key(bh.dev, bh.blocknr));
            bh.hashed = false;
        }
        nrBuffersType[bh.list]--;
        if (bh.list == BufferHead.BUF_DIRTY) {
            dirtyList.remove(bh);
        }
        bh.dev = null;
    }

    // ------------------------------------------------------------------ write-out

    /** The dirty, unlocked buffers (of {@code dev}, or all), at most {@code max}, each with b_count raised. */
    List<BufferHead> takeDirty(BlockDriver22 dev, int max, long olderThanNanos) {
        List<BufferHead> out = new ArrayList<>();
        lock.spinLock();
        try {
            for (BufferHead bh : dirtyList) {
                if (out.size() >= max) {
                    break;
                }
                if ((dev != null && bh.dev != dev) || bh.locked() || !bh.dirty()) {
                    continue;
                }
                if (olderThanNanos != 0 && bh.flushtime > olderThanNanos) {
                    continue;
                }
                bh.get();
                bh.flushtime = 0;
                out.add(bh);
            }
        } finally {
            lock.spinUnlock();
        }
        return out;
    }

    /** Writes the buffers {@link #takeDirty} took and drops their counts. */
    void writeTaken(List<BufferHead> bhs) {
        for (BufferHead bh : bhs) {
            blk.llRwBlock(Blk22.WRITE, bh);
            brelse(bh);
        }
    }

    /**
     * sync_buffers(dev, 1) as fsync_dev() uses it: writes every dirty buffer of {@code dev} and waits for
     * them, and, as 2.2's wait passes do, for every buffer of {@code dev} someone else has locked (bdflush's
     * or kupdate's write in flight); -EIO if one could not be written.
     */
    public int syncBuffers(BlockDriver22 dev) {
        int err = 0;
        for (int pass = 0; pass < 3; pass++) {
            List<BufferHead> dirty = takeDirty(dev, Integer.MAX_VALUE, 0);
            List<BufferHead> busy = takeLocked(dev);
            if (dirty.isEmpty() && busy.isEmpty()) {
                break;
            }
            for (BufferHead bh : dirty) {
                blk.llRwBlock(Blk22.WRITE, bh);
            }
            blk.runTqDisk();
            for (BufferHead bh : dirty) {
                waitOnBuffer(bh);
                if (!bh.uptodate() || bh.dirty()) {
                    err = -Errno.EIO;
                }
                brelse(bh);
            }
            for (BufferHead bh : busy) {
                waitOnBuffer(bh);
                if (!bh.uptodate()) {
                    err = -Errno.EIO;
                }
                brelse(bh);
            }
        }
        return err;
    }

    /** The locked buffers of {@code dev} (IO in flight), each with b_count raised. */
    private List<BufferHead> takeLocked(BlockDriver22 dev) {
        List<BufferHead> out = new ArrayList<>();
        lock.spinLock();
        try {
            for (BufferHead bh : hash.values()) {
                if (bh.dev == dev && bh.locked()) {
                    bh.get();
                    out.add(bh);
                }
            }
        } finally {
            lock.spinUnlock();
        }
        return out;
    }

    /**
     * invalidate_buffers(dev): every unused, clean buffer of {@code dev} forgets its data (BH_Uptodate
     * cleared), so the next bread() reads the device again. Returns how many.
     */
    public int invalidateBuffers(BlockDriver22 dev) {
        int n = 0;
        lock.spinLock();
        try {
            for (BufferHead bh : hash.values()) {
                if (bh.dev == dev && bh.count() == 0 && !bh.dirty() && !bh.locked()) {
                    bh.clear(BufferHead.BH_Uptodate);
                    bh.clear(BufferHead.BH_Req);
                    bh.clear(BufferHead.BH_Protected);
                    n++;
                }
            }
        } finally {
            lock.spinUnlock();
        }
        return n;
    }

    /**
     * Frees every buffer page of {@code dev} whose buffers are all idle, as shrink_mmap() would one by one
     * (2.2 had no drop_caches; tests use this to make the next read go to the device). Returns the pages.
     */
    public int dropBuffers(BlockDriver22 dev) {
        java.util.Set<Integer> pfns = new java.util.HashSet<>();
        lock.spinLock();
        try {
            for (BufferHead bh : hash.values()) {
                if (bh.dev == dev) {
                    pfns.add(bh.pfn);
                }
            }
        } finally {
            lock.spinUnlock();
        }
        int n = 0;
        for (int pfn : pfns) {
            if (tryToFreeBuffers(mm.page(pfn))) {
                n++;
            }
        }
        return n;
    }

    /** wakeup_bdflush(wait). */
    public void wakeupBdflush(boolean wait) {
        bdflush.wakeup(wait);
    }

    /** Dirty buffers over {@link #NFRACT} percent of all buffers. */
    boolean tooManyDirty() {
        return nrBuffersType[BufferHead.BUF_DIRTY] > nrBuffers * NFRACT / 100;
    }
}
