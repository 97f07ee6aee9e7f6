package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
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
 * releasepage(page, gfp), where a filesystem may sleep; too many isolated pages, or a batch all under
 * writeback, throttle the reclaimer unless it is PF_LESS_THROTTLE. The shrinkers are pressed as 4.3's
 * shrink_slab() pressed them: in proportion to the LRU pages the pass scanned.
 */
final class Vmscan {
    /** HZ/10 in the emulator's time: reclaim_throttle() and congestion_wait(). */
    static final long THROTTLE_NANOS = 10_000_000L;

    private final Kernel kernel;
    private final Mm mm;
    private final MemMap map;
    private final Lru lru;
    private final Filemap filemap;
    private final Throttle isolatedThrottle = new Throttle("reclaim_throttle(VMSCAN_THROTTLE_ISOLATED)");
    private final Throttle congestionThrottle = new Throttle("congestion_wait(BLK_RW_ASYNC)");
    private final AtomicLong throttled = new AtomicLong();
    /** ZONE_WRITEBACK: a whole batch was under writeback since kswapd last shrank the zone. */
    private volatile boolean zoneWriteback;

    Vmscan(Kernel kernel, Mm mm, MemMap map, Lru lru, Filemap filemap) {
        this.kernel = kernel;
        this.mm = mm;
        this.map = map;
        this.lru = lru;
        this.filemap = filemap;
    }

    /** How often reclaimers slept in reclaim_throttle() or congestion_wait(). */
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

    /** do_try_to_free_pages(): priority 12 down to 0 until enough is reclaimed. */
    void doTryToFreePages(ScanControl sc) {
        for (sc.priority = DEF_PRIORITY; sc.priority >= 0; sc.priority--) {
            shrinkNode(sc);
            if (sc.nrReclaimed >= sc.nrToReclaim) {
                return;
            }
        }
        sc.priority = 0;
    }

    /**
     * shrink_node() (shrink_zone() in the seeds' kernels): one pass at sc.priority over the LRU lists, then
     * the shrinkers, pressed in proportion to the LRU pages this pass scanned, as 4.3's shrink_slab() was
     * (a pass that scanned nothing counts as SWAP_CLUSTER_MAX pages of an LRU that may be empty).
     */
    void shrinkNode(ScanControl sc) {
        long inactive = lru.size(Lru.LRU_INACTIVE_FILE);
        long active = lru.size(Lru.LRU_ACTIVE_FILE);
        long scannedBefore = sc.nrScanned;
        if (active > inactive) {
            shrinkActiveList(scanCount(active, sc.priority), sc);
        }
        shrinkInactiveList(scanCount(inactive, sc.priority), sc);
        long scanned = sc.nrScanned - scannedBefore;
        sc.slabFreed += mm.shrinkSlabProportional(sc.gfpMask, scanned, inactive + active);
        if (sc.kswapd) {
            // kswapd_shrink_zone(): the flag only lasts for one of kswapd's passes over the zone.
            zoneWriteback = false;
        }
    }

    /** get_scan_count(): size >> priority, but never less than a batch of what there is. */
    private static long scanCount(long size, int priority) {
        return Math.max(size >> priority, Math.min(size, SWAP_CLUSTER_MAX));
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
     * current_may_throttle(): nfsd writing on behalf of reclaim (PF_LESS_THROTTLE) must not be made to
     * wait for the writeback it is itself needed to complete.
     */
    private static boolean currentMayThrottle(Task t) {
        return (t.flags() & TaskFlags.PF_LESS_THROTTLE) == 0;
    }

    /** shrink_inactive_list(). */
    void shrinkInactiveList(long nrToScan, ScanControl sc) {
        Task t = Task.current();
        boolean stalled = false;
        while (tooManyIsolated(sc)) {
            if (stalled || !currentMayThrottle(t)) {
                return;
            }
            stalled = true;
            throttled.incrementAndGet();
            isolatedThrottle.throttle(THROTTLE_NANOS);
        }
        int[] batch = new int[SWAP_CLUSTER_MAX];
        while (nrToScan > 0) {
            int n = lru.isolateLruPages(Lru.LRU_INACTIVE_FILE, (int) Math.min(nrToScan, SWAP_CLUSTER_MAX), batch);
            if (n == 0) {
                return;
            }
            nrToScan -= n;
            sc.nrScanned += n;
            mm.countEvent(sc.kswapd ? VmStatItem.PGSCAN_KSWAPD : VmStatItem.PGSCAN_DIRECT, n);
            long writebackBefore = sc.nrWriteback;
            long immediateBefore = sc.nrImmediate;
            long reclaimed = shrinkPageList(batch, n, sc);
            sc.nrReclaimed += reclaimed;
            mm.countEvent(sc.kswapd ? VmStatItem.PGSTEAL_KSWAPD : VmStatItem.PGSTEAL_DIRECT, reclaimed);
            long writeback = sc.nrWriteback - writebackBefore;
            if (writeback > 0 && writeback == n) {
                zoneWriteback = true;
            }
            boolean stall = sc.kswapd ? sc.nrImmediate > immediateBefore
                    // wait_iff_congested(): the emulator's zone is congested when a whole batch was under
                    // writeback (4.3 counts such PG_reclaim pages as congested).
                    : writeback == n;
            if (stall && currentMayThrottle(t)) {
                throttled.incrementAndGet();
                congestionThrottle.throttle(THROTTLE_NANOS);
            }
        }
    }

    /**
     * shrink_active_list(): ages the active list; a page referenced since the last pass gets a second
     * chance at the head, the others go to the inactive list.
     */
    void shrinkActiveList(long nrToScan, ScanControl sc) {
        int[] batch = new int[SWAP_CLUSTER_MAX];
        while (nrToScan > 0) {
            int n = lru.isolateLruPages(Lru.LRU_ACTIVE_FILE, (int) Math.min(nrToScan, SWAP_CLUSTER_MAX), batch);
            if (n == 0) {
                return;
            }
            nrToScan -= n;
            long deactivated = 0;
            for (int i = 0; i < n; i++) {
                int pfn = batch[i];
                if (map.testFlag(pfn, PG_referenced)) {
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
        if (map.testFlag(pfn, PG_writeback)) {
            if (sc.kswapd && map.testFlag(pfn, PG_reclaim) && zoneWriteback) {
                // Case 1: pages cycle through the LRU faster than they are written: kswapd backs off.
                sc.nrImmediate++;
                return Fate.KEEP;
            }
            // Case 2: global reclaim is always "sane": mark it for immediate reclaim and move on, never wait.
            map.setFlag(pfn, PG_reclaim);
            sc.nrWriteback++;
            return Fate.KEEP;
        }
        if (map.testFlag(pfn, PG_dirty)) {
            if (mapping == null || !sc.kswapd || !sc.mayWritepage || !sc.mayEnterFs() || !sc.mayIo()) {
                // Only kswapd writes, and only where the gfp mask lets it enter the filesystem.
                map.setFlag(pfn, PG_reclaim);
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
