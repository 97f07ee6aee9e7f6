package dev.reclaimlab.mm;

import static dev.reclaimlab.mm.MemMap.STATE_ALLOC;
import static dev.reclaimlab.mm.MemMap.STATE_BUDDY;
import static dev.reclaimlab.mm.MemMap.STATE_NONE;
import static dev.reclaimlab.mm.MemMap.STATE_PCP;
import static dev.reclaimlab.mm.MemMap.STATE_TAIL;

/**
 * What the page allocator's public entries check about a page beyond its pfn (mm/page_alloc.c
 * free_pages_check() and bad_page(), as in Linux 4.3): that a last reference does not free a page still
 * in use, and that pages the slab allocator owns are not freed behind its back. Read-only, racy reads of
 * mem_map, as the kernel's checks are; messages are built only when they throw.
 */
final class PageChecks {
    private PageChecks() {
    }

    /**
     * free_pages_check(), the part this emulator's pages can fail: what a page may not carry when its last
     * reference goes (locked, under writeback, still in a page cache), or null. PG_lru is the allocator's to
     * clear (__page_cache_release()), PG_private the filesystem's.
     */
    static String freePagesCheck(MemMap map, int pfn) {
        long f = map.flags(pfn);
        if ((f & (1L << PageFlags.PG_locked)) != 0) {
            return "is still locked";
        }
        if ((f & (1L << PageFlags.PG_writeback)) != 0) {
            return "is still under writeback";
        }
        if (map.mapping(pfn) != 0) {
            return "is still in a page cache (non-NULL mapping)";
        }
        return null;
    }

    /** Slab and large-kmalloc pages belong to their allocator: kfree() and kmem_cache_free() give them back. */
    static void checkNotAllocatorOwned(MemMap map, int pfn, String who) {
        if (map.testFlag(pfn, PageFlags.PG_slab)) {
            throw new IllegalArgumentException(who + "(pfn " + pfn + "): it is a slab page of a kmem cache;"
                    + " kmem_cache_free() or kfree() its objects instead");
        }
        if (map.testFlag(pfn, PageFlags.PG_large_kmalloc)) {
            throw new IllegalArgumentException(who + "(pfn " + pfn + "): it is a large kmalloc; kfree() it instead");
        }
    }

    /**
     * Throws unless {@code pfn} is a page of a live allocation: the head of one with a reference, or one of
     * its tail pages. What a device checks before it moves data into a bio's pages.
     */
    static void checkPageInUse(PhysMem mem, MemMap map, int pfn, String who) {
        mem.checkPfn(pfn, who);
        int head = map.state(pfn) == STATE_TAIL ? map.compoundHead(pfn) : pfn;
        if (map.state(head) != STATE_ALLOC || map.refcount(head) <= 0) {
            throw new IllegalArgumentException(who + ": pfn " + pfn + " is not an allocated page (it is "
                    + describe(map, pfn) + ")");
        }
    }

    /** A page's state in words, for messages. */
    static String describe(MemMap map, int pfn) {
        switch (map.state(pfn)) {
            case STATE_BUDDY:
            case STATE_PCP:
            case STATE_NONE:
                return "free";
            case STATE_TAIL:
                return "a tail page of the block at pfn " + map.compoundHead(pfn);
            default:
                return "allocated, order " + map.order(pfn) + ", refcount " + map.refcount(pfn);
        }
    }
}
