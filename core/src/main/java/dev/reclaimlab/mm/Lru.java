package dev.reclaimlab.mm;

import dev.reclaimlab.locking.RawSpinLock;

import static dev.reclaimlab.mm.MemMap.NO_PFN;
import static dev.reclaimlab.mm.PageFlags.PG_active;
import static dev.reclaimlab.mm.PageFlags.PG_lru;
import static dev.reclaimlab.mm.PageFlags.PG_referenced;

/**
 * The node's lruvec (mm/swap.c, the list half of mm/vmscan.c): inactive and active lists of page-cache
 * pages, linked through struct page's lru words under lru_lock. New pages enter the inactive list; a second
 * reference promotes them (mark_page_accessed()); reclaim isolates from the inactive tail and ages the
 * active list into the inactive one, giving referenced pages a second chance.
 */
final class Lru {
    static final int LRU_INACTIVE_FILE = 0;
    static final int LRU_ACTIVE_FILE = 1;

    private final MemMap map;
    private final Mm mm;
    final RawSpinLock lruLock = new RawSpinLock("lruvec->lru_lock");
    private final int[] head = {NO_PFN, NO_PFN};
    private final int[] tail = {NO_PFN, NO_PFN};
    private final long[] size = new long[2];
    private volatile long isolated;

    Lru(Mm mm, MemMap map) {
        this.mm = mm;
        this.map = map;
    }

    long size(int lru) {
        return size[lru];
    }

    long isolated() {
        return isolated;
    }

    /** lru_cache_add(): a new page-cache page joins the inactive list. */
    void lruCacheAdd(int pfn) {
        lruLock.lock();
        try {
            map.setFlag(pfn, PG_lru);
            addHead(pfn, map.testFlag(pfn, PG_active) ? LRU_ACTIVE_FILE : LRU_INACTIVE_FILE);
        } finally {
            lruLock.unlock();
        }
    }

    /**
     * mark_page_accessed(): inactive,unreferenced -> inactive,referenced; inactive,referenced ->
     * active,unreferenced.
     */
    void markPageAccessed(int pfn) {
        if (!map.testFlag(pfn, PG_active) && map.testFlag(pfn, PG_referenced)) {
            boolean moved = false;
            lruLock.lock();
            try {
                if (map.testFlag(pfn, PG_lru) && !map.testFlag(pfn, PG_active)) {
                    del(pfn, LRU_INACTIVE_FILE);
                    map.setFlag(pfn, PG_active);
                    addHead(pfn, LRU_ACTIVE_FILE);
                    moved = true;
                }
            } finally {
                lruLock.unlock();
            }
            map.clearFlag(pfn, PG_referenced);
            if (moved) {
                mm.countEvent(VmStatItem.PGACTIVATE, 1);
                mm.workingset().workingsetActivation();
            }
        } else if (!map.testFlag(pfn, PG_referenced)) {
            map.setFlag(pfn, PG_referenced);
        }
    }

    /**
     * isolate_lru_pages(): takes up to {@code nr} pages off the tail of {@code lru} into {@code out},
     * each with a reference; pages already on their way to be freed are passed over. Returns how many.
     */
    int isolateLruPages(int lru, int nr, int[] out) {
        int n = 0;
        int skipped = 0;
        lruLock.lock();
        try {
            int pfn = tail[lru];
            while (pfn != NO_PFN && n < nr && skipped < nr) {
                int prev = map.lruPrev(pfn);
                if (map.getPageUnlessZero(pfn)) {
                    del(pfn, lru);
                    map.clearFlag(pfn, PG_lru);
                    out[n++] = pfn;
                } else {
                    skipped++;
                }
                pfn = prev;
            }
            isolated += n;
        } finally {
            lruLock.unlock();
        }
        return n;
    }

    /**
     * putback_lru_page(): returns an isolated page to the list its PG_active says and drops the isolation
     * reference; if that was the last one (truncated meanwhile) the page is freed.
     */
    void putbackLruPage(int pfn) {
        lruLock.lock();
        try {
            map.setFlag(pfn, PG_lru);
            addHead(pfn, map.testFlag(pfn, PG_active) ? LRU_ACTIVE_FILE : LRU_INACTIVE_FILE);
            isolated--;
        } finally {
            lruLock.unlock();
        }
        mm.pageAlloc().putPage(pfn);
    }

    /** An isolated page that reclaim freed or that left the LRU for good. */
    void unisolate() {
        lruLock.lock();
        try {
            isolated--;
        } finally {
            lruLock.unlock();
        }
    }

    /** rotate_reclaimable_page(): a page whose writeback reclaim asked for goes to the inactive tail. */
    void rotateReclaimablePage(int pfn) {
        boolean rotated = false;
        lruLock.lock();
        try {
            if (map.testFlag(pfn, PG_lru) && !map.testFlag(pfn, PG_active)) {
                del(pfn, LRU_INACTIVE_FILE);
                addTail(pfn, LRU_INACTIVE_FILE);
                rotated = true;
            }
        } finally {
            lruLock.unlock();
        }
        if (rotated) {
            mm.countEvent(VmStatItem.PGROTATED, 1);
        }
    }

    /** Takes a page off the LRU before it is freed (__page_cache_release()). */
    void delFromLru(int pfn) {
        lruLock.lock();
        try {
            if (map.testFlag(pfn, PG_lru)) {
                del(pfn, map.testFlag(pfn, PG_active) ? LRU_ACTIVE_FILE : LRU_INACTIVE_FILE);
                map.clearFlag(pfn, PG_lru);
            }
        } finally {
            lruLock.unlock();
        }
    }

    private void addHead(int pfn, int lru) {
        int h = head[lru];
        map.setLruPrev(pfn, NO_PFN);
        map.setLruNext(pfn, h);
        if (h != NO_PFN) {
            map.setLruPrev(h, pfn);
        } else {
            tail[lru] = pfn;
        }
        head[lru] = pfn;
        size[lru]++;
    }

    private void addTail(int pfn, int lru) {
        int t = tail[lru];
        map.setLruNext(pfn, NO_PFN);
        map.setLruPrev(pfn, t);
        if (t != NO_PFN) {
            map.setLruNext(t, pfn);
        } else {
            head[lru] = pfn;
        }
        tail[lru] = pfn;
        size[lru]++;
    }

    private void del(int pfn, int lru) {
        int prev = map.lruPrev(pfn);
        int next = map.lruNext(pfn);
        if (prev == NO_PFN) {
            head[lru] = next;
        } else {
            map.setLruNext(prev, next);
        }
        if (next == NO_PFN) {
            tail[lru] = prev;
        } else {
            map.setLruPrev(next, prev);
        }
        map.setLruNext(pfn, NO_PFN);
        map.setLruPrev(pfn, NO_PFN);
        size[lru]--;
    }
}
