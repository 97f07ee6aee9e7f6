package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Jiffies;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.locking.Throttle;

import java.util.concurrent.atomic.AtomicLong;

import static dev.reclaimlab.mm.PageFlags.PG_active;
import static dev.reclaimlab.mm.PageFlags.PG_dirty;
import static dev.reclaimlab.mm.PageFlags.PG_locked;
import static dev.reclaimlab.mm.PageFlags.PG_private;
import static dev.reclaimlab.mm.PageFlags.PG_reclaim;
import static dev.reclaimlab.mm.PageFlags.PG_referenced;
import static dev.reclaimlab.mm.PageFlags.PG_writeback;
import static dev.reclaimlab.mm.ScanControl.DEF_PRIORITY;
import static dev.reclaimlab.mm.ScanControl.SWAP_CLUSTER_MAX;

/**
 * mm/vmscan.c: page reclaim. shrink_node() ages the active list, shrinks the inactive list through
 * shrink_page_list() and asks the shrinkers for slab objects, at a priority that doubles the share scanned
 * each round. The decisions that the seed deadlocks turn on are kept by name, as Linux 4.3 has them (and
 * 3.11 to 5.x alike): pages that cannot be trylocked are skipped; global reclaim never waits for a page
 * under writeback: it marks it PG_reclaim, and kswapd, meeting such a page again while the zone is
 * flagged ZONE_WRITEBACK, counts it nr_immediate and backs off in congestion_wait() (only legacy memcg
 * reclaim, which the emulator does not have, waits); dirty pages are written only by kswapd and only
 * when the gfp mask allows IO into the filesystem; pages with private data go through
 * releasepage(page, gfp), where a filesystem may sleep. The shrinkers are pressed as 4.3's shrink_slab()
 * pressed them: in proportion to the LRU pages the pass scanned.
 *
 * <p>LRU aging is Linux 3.14's (page_check_references(), shrink_active_list() deactivating every unmapped
 * page) unless the kernel runs the emulator's 4.3 aging ({@link #EMULATED_43_LRU_AGING}).
 *
 * <p>Throttling is Linux 3.14's (the loop-back NFS livelock of seed 003) unless the kernel runs the
 * emulator's 4.3 model ({@link #EMULATED_43_THROTTLE}): shrink_page_list() counts the dirty, unqueued,
 * congested, writeback and immediate pages of each batch; shrink_inactive_list() sets ZONE_WRITEBACK,
 * ZONE_CONGESTED and ZONE_TAIL_LRU_DIRTY from them, sleeps in congestion_wait(HZ/10) when a batch was all
 * dirty and unqueued or met immediate pages, and a direct reclaimer then sleeps in wait_iff_congested(HZ/10)
 * while some bdi is congested and the zone is ZONE_CONGESTED; the too_many_isolated() loop naps in
 * congestion_wait() for as long as it holds; each shrink_node() pass ends in throttle_vm_writeout().
 */
public final class Vmscan {
    /**
     * current_may_throttle(): a PF_LESS_THROTTLE task (nfsd serving a loop-back WRITE) is throttled in
     * shrink_inactive_list() only while the bdi it writes to, current->backing_dev_info, is congested
     * itself; a task with no such bdi is throttled. Before it, PF_LESS_THROTTLE meant nothing to reclaim.
     */
    public static final Fix CURRENT_MAY_THROTTLE = Fix.declare("current_may_throttle",
            "shrink_inactive_list() does not throttle a PF_LESS_THROTTLE task unless current->backing_dev_info is"
                    + " write-congested",
            "399ba0b95670 MM: avoid throttling reclaim for loop-back nfsd threads (NeilBrown, 3.16)",
            new KernelVersion(3, 16));
    /** The congestion_wait() after a batch that was all dirty and unqueued went, leaving nr_immediate only. */
    public static final Fix NO_UNQUEUED_DIRTY_STALL = Fix.declare("no_unqueued_dirty_stall",
            "shrink_inactive_list() sleeps in congestion_wait() only for nr_immediate pages, not when a whole batch"
                    + " was dirty but not yet queued for IO",
            "b738d764652d Don't trigger congestion wait on dirty-but-not-writeout pages (Linus Torvalds, 3.16)",
            new KernelVersion(3, 16));
    /**
     * Not a kernel change: the reclaim throttling the emulator's 4.3 kernels had before the 3.14 model, which
     * the xfs-on-loop scenario was built and measured with, kept for 4.3 exactly (see README).
     */
    public static final Fix EMULATED_43_THROTTLE = Fix.declare("vmscan_throttle_emulated_4_3",
            "emulator model, not a kernel patch: too_many_isolated() naps once then gives up; a direct reclaimer"
                    + " naps after a batch all under writeback instead of wait_iff_congested(); kswapd writes any"
                    + " dirty page; no throttle_vm_writeout() nor the allocator's retry nap",
            "none: the emulator's approximation of 4.3 reclaim throttling", KernelVersion.V4_3);

    /**
     * Not a kernel change: the LRU aging the emulator's 4.3 kernels had before the 3.14 model, kept for 4.3
     * exactly (see README). Without it reclaim ages as 3.14 does: shrink_active_list() deactivates every page
     * that is not mapped executable (page_referenced() counts only pte references, and the emulator's page
     * cache is never mapped), and shrink_page_list() asks page_check_references(), which clears PG_referenced
     * and keeps a referenced dirty page instead of writing it (PAGEREF_RECLAIM_CLEAN).
     */
    public static final Fix EMULATED_43_LRU_AGING = Fix.declare("lru_aging_emulated_4_3",
            "emulator model, not a kernel patch: shrink_active_list() gives a PG_referenced page a second round on"
                    + " the active list and shrink_page_list() does not consult page_check_references()",
            "none: the emulator's approximation of 4.3 LRU aging", KernelVersion.V4_3);

    /** HZ/10, the timeout of every reclaim throttle. */
    static final long HZ_10 = Jiffies.HZ / 10;

    private final Kernel kernel;
    private final Mm mm;
    private final MemMap map;
    private final Lru lru;
    private final Filemap filemap;
    private final ZoneFlags zone;
    private final Throttle isolatedThrottle = new Throttle("congestion_wait (too_many_isolated)");
    private final Throttle congestionThrottle = new Throttle("congestion_wait (shrink_inactive_list)");
    private final Throttle congestedThrottle = new Throttle("wait_iff_congested (shrink_inactive_list)");
    private final AtomicLong throttled = new AtomicLong();
    private final ShrinkStats shrinkStats = new ShrinkStats();

    Vmscan(Kernel kernel, Mm mm, MemMap map, Lru lru, Filemap filemap) {
        this.kernel = kernel;
        this.mm = mm;
        this.map = map;
        this.lru = lru;
        this.filemap = filemap;
        this.zone = mm.zoneFlags();
    }

    /** What the batches of shrink_inactive_list() met. */
    ShrinkStats shrinkStats() {
        return shrinkStats;
    }

    /** How often reclaimers slept in a reclaim throttle (congestion_wait(), wait_iff_congested()). */
    long throttled() {
        return throttled.get();
    }

    /**
     * try_to_free_pages(): direct reclaim of SWAP_CLUSTER_MAX pages by the allocating task (which the page
     * allocator already put under PF_MEMALLOC and fs_reclaim). Direct reclaim never writes pages.
     */
    long tryToFreePages(int gfp, int order) {
        ScanControl sc = new ScanControl(gfp, order, SWAP_CLUSTER_MAX, false, false);
        doTryToFreePages(sc);
        return sc.nrReclaimed + (sc.slabFreed > 0 ? 1 : 0);
    }

    /**
     * do_try_to_free_pages(): priority 12 down to 0 until enough is reclaimed; it has no sleep of its own.
     * A pass that has scanned more than one and a half times its target wakes the flusher for that many
     * pages (wakeup_flusher_threads(), a no-op under the emulated 4.3 flusher).
     */
    void doTryToFreePages(ScanControl sc) {
        for (sc.priority = DEF_PRIORITY; sc.priority >= 0; sc.priority--) {
            shrinkNode(sc);
            if (sc.nrReclaimed >= sc.nrToReclaim) {
                return;
            }
            if (sc.nrScanned > sc.nrToReclaim + sc.nrToReclaim / 2) {
                mm.writeback().wakeupFlusherThreads(sc.nrScanned);
            }
        }
        sc.priority = 0;
    }

    /**
     * shrink_node() (shrink_zone() and shrink_lruvec() in the seeds' kernels): one pass at sc.priority over
     * the LRU lists, then the shrinkers, pressed in proportion to the LRU pages this pass scanned, as 4.3's
     * shrink_slab() was (a pass that scanned nothing counts as SWAP_CLUSTER_MAX pages of an LRU that may be
     * empty); shrink_lruvec() ends in throttle_vm_writeout().
     */
    void shrinkNode(ScanControl sc) {
        long inactive = lru.size(Lru.LRU_INACTIVE_FILE);
        long active = lru.size(Lru.LRU_ACTIVE_FILE);
        long scannedBefore = sc.nrScanned;
        boolean forceScan = sc.kswapd && !mm.pageAlloc().zoneReclaimable(inactive + active);
        long nrActive = active > inactive ? scanCount(active, sc.priority, forceScan) : 0;
        long nrInactive = scanCount(inactive, sc.priority, forceScan);
        // shrink_lruvec() calls shrink_list() only for a list with something to scan at this priority.
        if (nrActive > 0) {
            shrinkActiveList(nrActive, sc);
        }
        if (nrInactive > 0) {
            shrinkInactiveList(nrInactive, sc);
        }
        if (!kernel.config().has(EMULATED_43_THROTTLE)) {
            mm.writeback().throttleVmWriteout(sc.gfpMask);
        }
        long scanned = sc.nrScanned - scannedBefore;
        sc.slabFreed += mm.shrinkSlabProportional(sc.gfpMask, scanned, inactive + active);
        if (sc.kswapd) {
            // kswapd_shrink_zone(): ZONE_WRITEBACK lasts for one of kswapd's passes over the zone; the other
            // two only until the zone is balanced.
            zone.clear(ZoneFlags.ZONE_WRITEBACK);
            if (mm.pageAlloc().nrFreePages() >= mm.pageAlloc().highWmark()) {
                clearBalancedZoneFlags();
            }
        }
    }

    /** balance_pgdat() and kswapd_shrink_zone() on a balanced zone: it is no longer congested or dirty. */
    void clearBalancedZoneFlags() {
        zone.clear(ZoneFlags.ZONE_CONGESTED);
        zone.clear(ZoneFlags.ZONE_TAIL_LRU_DIRTY);
    }

    /**
     * get_scan_count() (3.11 to 4.x; 5.3 has the same shift): size >> priority, so a small LRU is not scanned
     * at all at the first priorities and reclaim drops priority. Only kswapd on a zone that is no longer
     * reclaimable (global reclaim has no memcg case here) is forced to scan a batch. 5.3 dropped that force;
     * it is kept for 5.3 too, where it can act only after six LRUs' worth of scanning freed nothing.
     */
    static long scanCount(long size, int priority, boolean forceScan) {
        long scan = size >> priority;
        if (scan == 0 && forceScan) {
            scan = Math.min(size, SWAP_CLUSTER_MAX);
        }
        return scan;
    }

    /** too_many_isolated(): direct reclaimers wait while more is isolated than the inactive list holds. */
    private boolean tooManyIsolated(ScanControl sc) {
        if (sc.kswapd) {
            return false;
        }
        long inactive = lru.size(Lru.LRU_INACTIVE_FILE);
        if ((sc.gfpMask & (Gfp.__GFP_IO | Gfp.__GFP_FS)) == (Gfp.__GFP_IO | Gfp.__GFP_FS)) {
            inactive >>= 3;
        }
        return lru.isolated() > inactive;
    }

    /**
     * current_may_throttle() as it landed: a task is spared only if it is PF_LESS_THROTTLE and the bdi it
     * is writing to is not congested, so nfsd is still throttled by its own slow device, never by the NFS
     * mount it serves.
     */
    static boolean currentMayThrottle(Task t) {
        if ((t.flags() & TaskFlags.PF_LESS_THROTTLE) == 0) {
            return true;
        }
        BackingDevInfo bdi = t.backingDevInfo();
        return bdi == null || bdi.writeCongested();
    }

    /** Whether shrink_inactive_list() may throttle {@code t}: always, before {@link #CURRENT_MAY_THROTTLE}. */
    private boolean mayThrottle(Task t) {
        return !kernel.config().has(CURRENT_MAY_THROTTLE) || currentMayThrottle(t);
    }

    /** shrink_inactive_list(). */
    void shrinkInactiveList(long nrToScan, ScanControl sc) {
        Task t = Task.current();
        boolean emulated = kernel.config().has(EMULATED_43_THROTTLE);
        boolean stalled = false;
        while (tooManyIsolated(sc)) {
            if (emulated) {
                if (stalled || !mayThrottle(t)) {
                    return;
                }
                stalled = true;
                throttled.incrementAndGet();
                isolatedThrottle.throttle(kernel.jiffiesToNanos(HZ_10));
                continue;
            }
            throttled.incrementAndGet();
            mm.backingDev().congestionWait(BackingDev.BLK_RW_ASYNC, HZ_10, isolatedThrottle);
            if (t.fatalSignalPending() || t.kthreadShouldStop()) {
                return;
            }
        }
        int[] batch = sc.isolated;
        while (nrToScan > 0) {
            int n = lru.isolateLruPages(Lru.LRU_INACTIVE_FILE, (int) Math.min(nrToScan, SWAP_CLUSTER_MAX), batch);
            if (n == 0) {
                return;
            }
            nrToScan -= n;
            sc.nrScanned += n;
            mm.pageAlloc().addPagesScanned(n);
            mm.countEvent(sc.kswapd ? VmStatItem.PGSCAN_KSWAPD : VmStatItem.PGSCAN_DIRECT, n);
            sc.startBatch();
            long reclaimed = shrinkPageList(batch, n, sc);
            sc.nrReclaimed += reclaimed;
            mm.countEvent(sc.kswapd ? VmStatItem.PGSTEAL_KSWAPD : VmStatItem.PGSTEAL_DIRECT, reclaimed);
            // global_reclaim(): the emulator has no memcg reclaim.
            boolean congested = sc.batchDirty > 0 && sc.batchDirty == sc.batchCongested;
            shrinkStats.addBatch(sc, n, reclaimed, congested);
            if (sc.batchWriteback > 0 && sc.batchWriteback == n) {
                zone.set(ZoneFlags.ZONE_WRITEBACK);
            }
            if (congested) {
                zone.set(ZoneFlags.ZONE_CONGESTED);
            }
            if (sc.batchUnqueuedDirty == n) {
                zone.set(ZoneFlags.ZONE_TAIL_LRU_DIRTY);
            }
            if (emulated) {
                emulatedStall(t, sc, n);
            } else {
                throttleAfterBatch(t, sc, n);
            }
        }
    }

    /** The emulator's 4.3 model: kswapd naps for immediate pages, a direct reclaimer after a batch all under writeback. */
    private void emulatedStall(Task t, ScanControl sc, int n) {
        boolean stall = sc.kswapd ? sc.batchImmediate > 0 : sc.batchWriteback == n;
        if (stall && mayThrottle(t)) {
            throttled.incrementAndGet();
            congestionThrottle.throttle(kernel.jiffiesToNanos(HZ_10));
        }
    }

    /** The end of 3.14's shrink_inactive_list(): congestion_wait(), then wait_iff_congested() for direct reclaim. */
    private void throttleAfterBatch(Task t, ScanControl sc, int n) {
        boolean unqueued = !kernel.config().has(NO_UNQUEUED_DIRTY_STALL) && sc.batchUnqueuedDirty == n;
        if ((unqueued || sc.batchImmediate > 0) && mayThrottle(t)) {
            throttled.incrementAndGet();
            mm.backingDev().congestionWait(BackingDev.BLK_RW_ASYNC, HZ_10, congestionThrottle);
        }
        if (!sc.kswapd && mayThrottle(t)) {
            if (mm.backingDev().nrBdiCongested(BackingDev.BLK_RW_ASYNC) > 0 && zone.test(ZoneFlags.ZONE_CONGESTED)) {
                throttled.incrementAndGet();
            }
            mm.backingDev().waitIffCongested(zone, BackingDev.BLK_RW_ASYNC, HZ_10, congestedThrottle);
        }
    }

    /**
     * shrink_active_list(): ages the active list. 3.14 moves every isolated page to the inactive list, PG_referenced
     * left as it is: only a page mapped executable with young ptes stays, and the page cache here is never mapped.
     * The emulated 4.3 aging ({@link #EMULATED_43_LRU_AGING}) gives a PG_referenced page a second round instead.
     */
    void shrinkActiveList(long nrToScan, ScanControl sc) {
        boolean secondChance = kernel.config().has(EMULATED_43_LRU_AGING);
        int[] batch = sc.isolated;
        while (nrToScan > 0) {
            int n = lru.isolateLruPages(Lru.LRU_ACTIVE_FILE, (int) Math.min(nrToScan, SWAP_CLUSTER_MAX), batch);
            if (n == 0) {
                return;
            }
            nrToScan -= n;
            long deactivated = 0;
            for (int i = 0; i < n; i++) {
                int pfn = batch[i];
                if (secondChance && map.testFlag(pfn, PG_referenced)) {
                    map.clearFlag(pfn, PG_referenced);
                } else {
                    map.clearFlag(pfn, PG_active);
                    deactivated++;
                }
                lru.putbackLruPage(pfn);
            }
            mm.countEvent(VmStatItem.PGDEACTIVATE, deactivated);
        }
    }

    /** shrink_page_list(): decides each isolated page's fate; returns how many were freed. */
    long shrinkPageList(int[] pages, int n, ScanControl sc) {
        long reclaimed = 0;
        for (int i = 0; i < n; i++) {
            int pfn = pages[i];
            if (!filemap.trylockPage(pfn)) {
                lru.putbackLruPage(pfn);
                continue;
            }
            switch (decide(pfn, sc)) {
                case FREE:
                    freeLockedPage(pfn);
                    reclaimed++;
                    break;
                case ACTIVATE:
                    map.setFlag(pfn, PG_active);
                    filemap.unlockPage(pfn);
                    lru.putbackLruPage(pfn);
                    mm.countEvent(VmStatItem.PGACTIVATE, 1);
                    break;
                case KEEP_UNLOCKED:
                    lru.putbackLruPage(pfn);
                    break;
                default:
                    filemap.unlockPage(pfn);
                    lru.putbackLruPage(pfn);
                    break;
            }
        }
        return reclaimed;
    }

    private enum Fate { FREE, KEEP, KEEP_UNLOCKED, ACTIVATE }

    /** The body of shrink_page_list() for one locked page. */
    private Fate decide(int pfn, ScanControl sc) {
        AddressSpace mapping = filemap.pageMapping(pfn);
        boolean writeback = map.testFlag(pfn, PG_writeback);
        countDirtyWriteback(mapping, pfn, writeback, sc);
        if (writeback) {
            if (sc.kswapd && map.testFlag(pfn, PG_reclaim) && zone.test(ZoneFlags.ZONE_WRITEBACK)) {
                // Case 1: pages cycle through the LRU faster than they are written: kswapd backs off.
                sc.nrImmediate++;
                sc.batchImmediate++;
                return Fate.KEEP;
            }
            // Case 2: global reclaim is always "sane": mark it for immediate reclaim and move on, never wait.
            map.setFlag(pfn, PG_reclaim);
            sc.nrWriteback++;
            sc.batchWriteback++;
            return Fate.KEEP;
        }
        boolean reclaimClean = pageCheckReferences(pfn);
        if (map.testFlag(pfn, PG_dirty)) {
            boolean kswapdMayWrite = sc.kswapd && (kernel.config().has(EMULATED_43_THROTTLE)
                    || zone.test(ZoneFlags.ZONE_TAIL_LRU_DIRTY));
            if (mapping == null || !kswapdMayWrite || !sc.mayWritepage || !sc.mayEnterFs() || !sc.mayIo()) {
                // Only kswapd writes, only once the LRU tail is all dirty, and only where the gfp mask lets it
                // enter the filesystem.
                map.setFlag(pfn, PG_reclaim);
                return Fate.KEEP;
            }
            if (reclaimClean) {
                // PAGEREF_RECLAIM_CLEAN: a referenced page is reclaimed only if clean; it is not written for it.
                return Fate.KEEP;
            }
            return pageout(mapping, pfn);
        }
        if (map.testFlag(pfn, PG_private)) {
            if (mapping == null || !mapping.aops().releasepage(mapping, pfn, sc.gfpMask)) {
                return Fate.ACTIVATE;
            }
            map.clearFlag(pfn, PG_private);
        }
        if (mapping == null) {
            // Truncated while isolated: only our reference is left.
            return map.refFreeze(pfn, 1) ? Fate.FREE : Fate.KEEP;
        }
        return filemap.removeMapping(mapping, pfn) ? Fate.FREE : Fate.KEEP;
    }

    /**
     * page_check_references() for an unmapped page-cache page (3.14, after page_check_dirty_writeback() and the
     * writeback cases): TestClearPageReferenced(); a referenced page is PAGEREF_RECLAIM_CLEAN (true), else
     * PAGEREF_RECLAIM. No pte references exist, so never PAGEREF_ACTIVATE or PAGEREF_KEEP. Under
     * {@link #EMULATED_43_LRU_AGING} it is not asked: PAGEREF_RECLAIM, PG_referenced untouched.
     */
    private boolean pageCheckReferences(int pfn) {
        if (kernel.config().has(EMULATED_43_LRU_AGING) || !map.testFlag(pfn, PG_referenced)) {
            return false;
        }
        map.clearFlag(pfn, PG_referenced);
        return true;
    }

    /**
     * page_check_dirty_writeback() and the counts made from it (3.11-3.x): a page is dirty or under
     * writeback by its flags, or as its filesystem says for a page with private data; it is congested if
     * its device is write-congested or it came round again under writeback after PG_reclaim was set.
     */
    private void countDirtyWriteback(AddressSpace mapping, int pfn, boolean writeback, ScanControl sc) {
        boolean dirty = map.testFlag(pfn, PG_dirty);
        if (mapping != null && map.testFlag(pfn, PG_private)) {
            int dw = mapping.aops().isDirtyWriteback(mapping, pfn);
            if (dw != AddressSpaceOperations.NOT_IMPLEMENTED) {
                dirty = (dw & AddressSpaceOperations.DIRTY) != 0;
                writeback = (dw & AddressSpaceOperations.WRITEBACK) != 0;
            }
        }
        if (dirty || writeback) {
            sc.batchDirty++;
        }
        if (dirty && !writeback) {
            sc.batchUnqueuedDirty++;
        }
        if ((mapping != null && mapping.bdi().writeCongested()) || (writeback && map.testFlag(pfn, PG_reclaim))) {
            sc.batchCongested++;
        }
    }

    /** pageout(): kswapd writes a dirty page for reclaim; the filesystem unlocks it. */
    private Fate pageout(AddressSpace mapping, int pfn) {
        if (!filemap.clearPageDirtyForIo(pfn)) {
            return Fate.KEEP;
        }
        map.setFlag(pfn, PG_reclaim);
        WritebackControl wbc = new WritebackControl(WritebackControl.SyncMode.WB_SYNC_NONE, true, false, 1);
        int res = mapping.aops().writepage(mapping, pfn, wbc);
        if (res == AddressSpaceOperations.AOP_WRITEPAGE_ACTIVATE) {
            map.clearFlag(pfn, PG_reclaim);
            filemap.setPageDirty(pfn);
            return Fate.ACTIVATE;
        }
        return Fate.KEEP_UNLOCKED;
    }

    /** free_unref_page_list() for a page whose count reclaim froze at zero. */
    private void freeLockedPage(int pfn) {
        map.setLockOwner(pfn, 0);
        map.clearFlag(pfn, PG_locked);
        lru.unisolate();
        mm.pageAlloc().freeUnrefPages(pfn, 0);
    }
}
