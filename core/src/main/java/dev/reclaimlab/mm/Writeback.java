package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Jiffies;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.locking.Throttle;

import java.util.concurrent.atomic.AtomicLong;

import static dev.reclaimlab.mm.MemMap.NO_PFN;

/**
 * Dirty-page limits and the flusher (mm/page-writeback.c, fs/fs-writeback.c). Writers that dirty pages
 * call {@link #balanceDirtyPagesRatelimited}; above the dirty threshold they sleep in
 * balance_dirty_pages() until writeback catches up. PF_LESS_THROTTLE raises a task's thresholds by a
 * quarter, as the 2014 kernel did for nfsd, so a writer that reclaim depends on is not held back with
 * everyone else. NFS pages written UNSTABLE and not yet committed (NR_UNSTABLE_NFS) count as dirty,
 * as 3.14 and 4.3 count them. Reclaim ends each pass in {@link #throttleVmWriteout}. The flusher
 * ("kworker/u:flush") is {@link Flusher}.
 */
public final class Writeback {
    /** vm.dirty_background_ratio's boot value (3.14's dirty_background_ratio). */
    public static final int DIRTY_BACKGROUND_RATIO = 10;
    /** vm.dirty_ratio's boot value (3.14's vm_dirty_ratio). */
    public static final int DIRTY_RATIO = 20;
    /** Pages a task dirties between looks at the limits (ratelimit_pages, simplified). */
    static final int RATELIMIT_PAGES = 32;
    /** The pause of a writer over the limits, in jiffies (3.14 computes one in [HZ/100, HZ/5]). */
    static final long PAUSE_JIFFIES = 5;
    /** throttle_vm_writeout()'s nap: congestion_wait(BLK_RW_ASYNC, HZ/10). */
    static final long VM_WRITEOUT_JIFFIES = Jiffies.HZ / 10;

    private final Kernel kernel;
    private final Mm mm;
    private final Flusher flusher;
    private final Throttle dirtyThrottle = new Throttle("balance_dirty_pages");
    private final Throttle vmWriteoutThrottle = new Throttle("congestion_wait (throttle_vm_writeout)");
    private final AtomicLong pauses = new AtomicLong();
    private final AtomicLong vmWriteoutNaps = new AtomicLong();
    private volatile int dirtyRatio = DIRTY_RATIO;
    private volatile int dirtyBackgroundRatio = DIRTY_BACKGROUND_RATIO;
    /**
     * global_dirty_limit (3.2's c42843f2f0bb, in 3.14): the smoothed dirty limit, set at boot by
     * writeback_set_ratelimit(), raised at once to a higher threshold and decayed by 1/32 of the gap at most
     * every BANDWIDTH_INTERVAL from balance_dirty_pages(). Read through hard_dirty_limit().
     */
    private final AtomicLong globalDirtyLimit = new AtomicLong();
    private final AtomicLong dirtyLimitUpdatedNanos = new AtomicLong(Long.MIN_VALUE / 2);
    /** BANDWIDTH_INTERVAL: max(HZ/5, 1). */
    static final long BANDWIDTH_INTERVAL_JIFFIES = Jiffies.HZ / 5;

    Writeback(Kernel kernel, Mm mm) {
        this.kernel = kernel;
        this.mm = mm;
        this.flusher = new Flusher(kernel, mm, this);
    }

    void start() {
        // page_writeback_init() -> writeback_set_ratelimit(): the limit of a machine whose memory is free.
        globalDirtyLimit.set(dirtyableMemory() * dirtyRatio / 100);
        flusher.start();
    }

    /**
     * sysctl vm.dirty_ratio (dirty_ratio_handler(), 3.14): 0..100 % of the dirtyable memory, else -EINVAL;
     * a change resets global_dirty_limit to the new threshold, as writeback_set_ratelimit() does.
     */
    public void setDirtyRatio(int percent) {
        dirtyRatio = checkRatio("vm.dirty_ratio", percent);
        globalDirtyLimit.set(dirtyableMemory() * percent / 100);
    }

    /** sysctl vm.dirty_background_ratio (3.14): 0..100 %, else -EINVAL. */
    public void setDirtyBackgroundRatio(int percent) {
        dirtyBackgroundRatio = checkRatio("vm.dirty_background_ratio", percent);
    }

    private static int checkRatio(String sysctl, int percent) {
        if (percent < 0 || percent > 100) {
            throw new IllegalArgumentException(sysctl + ": " + percent + " is outside [0, 100] (-EINVAL)");
        }
        return percent;
    }

    public int dirtyRatio() {
        return dirtyRatio;
    }

    public int dirtyBackgroundRatio() {
        return dirtyBackgroundRatio;
    }

    /** The flusher itself (tests run its passes in their own task). */
    Flusher flusherModel() {
        return flusher;
    }

    /** The flusher task, which owes the writeback it starts. */
    public Task flusher() {
        return flusher.task();
    }

    /** How many background writeback passes the 3.14 flusher made (wb_check_background_flush()). */
    public long backgroundWritebackPasses() {
        return flusher.backgroundPasses();
    }

    /** How many kupdate passes the 3.14 flusher made (wb_check_old_data_flush()). */
    public long kupdatePasses() {
        return flusher.kupdatePasses();
    }

    /** How many times direct reclaim queued a flusher work (wakeup_flusher_threads()). */
    public long reclaimFlusherWakeups() {
        return flusher.reclaimWakeups();
    }

    /** Whether {@code m} is on the flusher's dirty list. */
    public boolean inodeDirty(AddressSpace m) {
        return flusher.isDirty(m);
    }

    /** How many times writers slept in balance_dirty_pages(). */
    public long dirtyThrottlePauses() {
        return pauses.get();
    }

    /** How many times reclaimers napped in throttle_vm_writeout(). */
    public long vmWriteoutThrottled() {
        return vmWriteoutNaps.get();
    }

    /**
     * __mark_inode_dirty(): the inode goes on the flusher's dirty list (I_DIRTY_DATASYNC from NFS's commit
     * list: the flusher's write_inode() then commits).
     */
    public void markInodeDirty(AddressSpace m) {
        flusher.markInodeDirty(m);
    }

    void forget(AddressSpace m) {
        flusher.forget(m);
    }

    /** Memory the dirty limits are a share of (global_dirtyable_memory()). */
    private long dirtyableMemory() {
        VmStat v = mm.vmstat();
        long x = mm.pageAlloc().nrFreePages() + v.get(VmStatItem.NR_INACTIVE_FILE) + v.get(VmStatItem.NR_ACTIVE_FILE)
                - mm.pageAlloc().highWmark();
        return Math.max(x, 1);
    }

    /** domain_dirty_limits(): {background, dirty} thresholds in pages for {@code t}. */
    public long[] dirtyLimits(Task t) {
        long dirtyable = dirtyableMemory();
        long bg = dirtyable * dirtyBackgroundRatio / 100;
        long thresh = dirtyable * dirtyRatio / 100;
        // global_dirty_limits(): a background threshold at or over the dirty one is half of it.
        if (bg >= thresh) {
            bg = thresh / 2;
        }
        if ((t.flags() & TaskFlags.PF_LESS_THROTTLE) != 0) {
            bg += bg / 4;
            thresh += thresh / 4;
        }
        return new long[] {bg, thresh};
    }

    /** balance_dirty_pages_ratelimited(): after a page was dirtied. */
    public void balanceDirtyPagesRatelimited(AddressSpace mapping) {
        if (mapping == null) {
            throw new IllegalArgumentException("balance_dirty_pages_ratelimited: mapping is null");
        }
        Task t = kernel.currentTask();
        int n = t.nrDirtied() + 1;
        if (n < RATELIMIT_PAGES) {
            t.setNrDirtied(n);
            return;
        }
        t.setNrDirtied(0);
        balanceDirtyPages(t, mapping.bdi());
    }

    /**
     * balance_dirty_pages(): below the midpoint of the background and dirty thresholds the writer runs
     * free; above the background threshold the flusher is kicked; above the dirty threshold the writer
     * pauses until writeback brings the dirty and writeback pages back under it, unless the device it
     * dirties ({@code bdi}) holds no more than its share of them (wb_thresh: the threshold split among the
     * devices that have dirty or writeback pages).
     */
    public void balanceDirtyPages(Task t, BackingDevInfo bdi) {
        for (;;) {
            VmStat v = mm.vmstat();
            long nrReclaimable = v.get(VmStatItem.NR_DIRTY) + v.get(VmStatItem.NR_UNSTABLE_NFS);
            long nrDirty = nrReclaimable + v.get(VmStatItem.NR_WRITEBACK);
            long[] lim = dirtyLimits(t);
            globalUpdateBandwidth(lim[1], nrDirty);
            if (nrDirty <= (lim[0] + lim[1]) / 2) {
                return;
            }
            if (nrReclaimable > lim[0]) {
                wakeupFlusher();
            }
            if (nrDirty <= lim[1] || bdi.nrDirty() + bdi.nrWriteback() <= wbThresh(lim[1])) {
                return;
            }
            if (t.kthreadShouldStop()) {
                // fatal_signal_pending(): a task being stopped leaves the throttle.
                return;
            }
            pauses.incrementAndGet();
            dirtyThrottle.throttle(kernel.jiffiesToNanos(PAUSE_JIFFIES));
        }
    }

    /**
     * throttle_vm_writeout(gfp) (3.14; gone in 4.16), at the end of each reclaim pass: while the pages under
     * writeback plus the NFS pages waiting for a COMMIT exceed the caller's dirty threshold plus a tenth,
     * nap in congestion_wait(BLK_RW_ASYNC, HZ/10). A caller without both __GFP_FS and __GFP_IO naps once;
     * a GFP_KERNEL one loops until writeback, or nfsd's COMMITs, bring the sum down. A task being stopped
     * leaves the loop (the kernel's has no such exit; the emulator's kernels must be able to close).
     */
    public void throttleVmWriteout(int gfp) {
        Gfp.check(gfp, "throttle_vm_writeout");
        Task t = kernel.currentTask();
        for (;;) {
            long thresh = hardDirtyLimit(dirtyLimits(t)[1]);
            thresh += thresh / 10;
            VmStat v = mm.vmstat();
            if (v.get(VmStatItem.NR_UNSTABLE_NFS) + v.get(VmStatItem.NR_WRITEBACK) <= thresh) {
                return;
            }
            vmWriteoutNaps.incrementAndGet();
            mm.backingDev().congestionWait(BackingDev.BLK_RW_ASYNC, VM_WRITEOUT_JIFFIES, vmWriteoutThrottle);
            if ((gfp & (Gfp.__GFP_FS | Gfp.__GFP_IO)) != (Gfp.__GFP_FS | Gfp.__GFP_IO)) {
                return;
            }
            if (t.kthreadShouldStop() || t.fatalSignalPending()) {
                return;
            }
        }
    }

    /** hard_dirty_limit(thresh): max(thresh, global_dirty_limit). */
    long hardDirtyLimit(long thresh) {
        return Math.max(thresh, globalDirtyLimit.get());
    }

    /**
     * global_update_bandwidth() -> update_dirty_limit(): at most once per BANDWIDTH_INTERVAL, the limit
     * follows a higher threshold at once and decays by 1/32 of its excess over max(thresh, dirty).
     * (3.14 calls it from bdi_update_bandwidth() in every balance_dirty_pages() pass; so does this.)
     */
    private void globalUpdateBandwidth(long thresh, long dirty) {
        long now = System.nanoTime();
        long last = dirtyLimitUpdatedNanos.get();
        if (now - last < kernel.jiffiesToNanos(BANDWIDTH_INTERVAL_JIFFIES)
                || !dirtyLimitUpdatedNanos.compareAndSet(last, now)) {
            return;
        }
        long limit = globalDirtyLimit.get();
        if (limit < thresh) {
            globalDirtyLimit.set(thresh);
            return;
        }
        long floor = Math.max(thresh, dirty);
        if (limit > floor) {
            globalDirtyLimit.set(limit - ((limit - floor) >> 5));
        }
    }

    /** wb_thresh, simplified: the dirty threshold shared equally by the devices with dirty or writeback pages. */
    long wbThresh(long thresh) {
        int active = 0;
        for (BackingDevInfo b : mm.bdis()) {
            if (b.nrDirty() + b.nrWriteback() > 0) {
                active++;
            }
        }
        return thresh / Math.max(1, active);
    }

    /** wb_start_background_writeback(). */
    public void wakeupFlusher() {
        flusher.wakeupBackground();
    }

    /**
     * wakeup_flusher_threads(nr_pages): direct reclaim that scanned more than one and a half times what it
     * was asked to free queues a writeback work of that many pages (3.14; the emulated flusher of 4.3 and
     * later has no such work).
     */
    public void wakeupFlusherThreads(long nrPages) {
        flusher.wakeupFlusherThreads(nrPages);
    }

    /** writepage_t: what write_cache_pages() calls for each locked dirty page whose dirty bit it cleared. */
    @FunctionalInterface
    public interface Writepage {
        int writepage(AddressSpace mapping, int page, WritebackControl wbc);
    }

    /**
     * do_writepages(): the mapping's ->writepages() if it has one, else write_cache_pages() through its
     * writepage() (generic_writepages()). Returns how many dirty pages were left behind (pages locked by
     * others, or beyond wbc.nrToWrite).
     */
    public long writeCachePages(AddressSpace mapping, WritebackControl wbc) {
        checkArgs(mapping, wbc);
        AddressSpaceOperations aops = mapping.aops();
        if (!aops.hasWritepages()) {
            return writeCachePages(mapping, wbc, aops::writepage);
        }
        // ->writepages() sends what it gathered before it returns: still inside the mapping's writeback.
        if (!mapping.beginWriteback()) {
            return 0;
        }
        try {
            return aops.writepages(mapping, wbc);
        } finally {
            mapping.endWriteback();
        }
    }

    /**
     * write_cache_pages(mapping, wbc, writepage, data): hands each dirty page, locked and its dirty bit cleared
     * for IO, to {@code writepage}, as a ->writepages() implementation calls it. Returns the pages left behind.
     */
    public long writeCachePages(AddressSpace mapping, WritebackControl wbc, Writepage writepage) {
        checkArgs(mapping, wbc);
        if (writepage == null) {
            throw new IllegalArgumentException("write_cache_pages(" + mapping + "): writepage is null");
        }
        if (!mapping.beginWriteback()) {
            return 0;
        }
        try {
            return writeCachePagesLocked(mapping, wbc, writepage);
        } finally {
            mapping.endWriteback();
        }
    }

    private static void checkArgs(AddressSpace mapping, WritebackControl wbc) {
        if (mapping == null || wbc == null) {
            throw new IllegalArgumentException("write_cache_pages: " + (mapping == null ? "mapping" : "wbc")
                    + " is null");
        }
    }

    private long writeCachePagesLocked(AddressSpace mapping, WritebackControl wbc, Writepage writepage) {
        Filemap fm = mm.filemap();
        long skipped = 0;
        for (long index = mapping.pages.xaFind(0); index >= 0; index = mapping.pages.xaFindAfter(index)) {
            int pfn = fm.findGetPage(mapping, index);
            if (pfn == NO_PFN) {
                continue;
            }
            try {
                if (!fm.pageDirty(pfn)) {
                    continue;
                }
                if (wbc.nrToWrite <= 0) {
                    skipped++;
                    continue;
                }
                boolean sync = wbc.syncMode == WritebackControl.SyncMode.WB_SYNC_ALL;
                if (sync) {
                    fm.lockPage(pfn);
                } else if (!fm.trylockPage(pfn)) {
                    skipped++;
                    continue;
                }
                if (sync && fm.pageMapping(pfn) == mapping) {
                    // Data integrity: a page redirtied while its last write is in flight is written again
                    // once that write ends, never skipped (write_cache_pages() waits here for WB_SYNC_ALL).
                    fm.waitOnPageWriteback(pfn);
                }
                if (fm.pageMapping(pfn) != mapping || fm.pageWriteback(pfn) || !fm.clearPageDirtyForIo(pfn)) {
                    if (fm.pageDirty(pfn)) {
                        skipped++;
                    }
                    fm.unlockPage(pfn);
                    continue;
                }
                int res = writepage.writepage(mapping, pfn, wbc);
                if (res == AddressSpaceOperations.AOP_WRITEPAGE_ACTIVATE) {
                    fm.setPageDirty(pfn);
                    fm.unlockPage(pfn);
                    skipped++;
                }
                wbc.nrToWrite--;
            } finally {
                fm.putPage(pfn);
            }
        }
        return skipped;
    }

    /**
     * filemap_write_and_wait(): writes every dirty page of {@code mapping} and waits for the IO. Returns 0,
     * or -EIO when a dirty page could not be written at all (the filesystem kept it dirty), so fsync never
     * reports success for bytes that did not reach the device; errors of the IO itself are the
     * filesystem's to report.
     */
    public int filemapWriteAndWait(AddressSpace mapping) {
        if (mapping == null) {
            throw new IllegalArgumentException("filemap_write_and_wait: mapping is null");
        }
        long left = writeCachePages(mapping, new WritebackControl(WritebackControl.SyncMode.WB_SYNC_ALL, false,
                false, Long.MAX_VALUE));
        Filemap fm = mm.filemap();
        for (long index = mapping.pages.xaFind(0); index >= 0; index = mapping.pages.xaFindAfter(index)) {
            int pfn = fm.findGetPage(mapping, index);
            if (pfn != NO_PFN) {
                fm.waitOnPageWriteback(pfn);
                fm.putPage(pfn);
            }
        }
        if (left > 0) {
            kernel.printk("WARNING: filemap_write_and_wait(" + mapping + "): " + left + " dirty pages could not be"
                    + " written by " + kernel.currentTask() + "; reporting -EIO");
            return -dev.reclaimlab.kernel.Errno.EIO;
        }
        return 0;
    }
}
