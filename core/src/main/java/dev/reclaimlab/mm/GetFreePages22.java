package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Task;

import static dev.reclaimlab.kernel.TaskFlags.PF_MEMALLOC;

/**
 * __get_free_pages() as in Linux 2.2 (mm/page_alloc.c), for kernels without {@link PageAlloc#ZONE_ALLOCATOR}:
 * one global free count and freepages.min/low/high from free_area_init(); once free memory has fallen to
 * min, the global low_on_memory flag makes every allocation that is not PF_MEMALLOC reclaim first, until
 * free memory is back at high. Reclaim is one synchronous try_to_free_pages() per call, under PF_MEMALLOC,
 * with no retry loop; afterwards the free lists are tried with no watermark at all. An allocation fails
 * when the lists are empty, or when reclaim freed nothing and the mask has neither __GFP_MED nor
 * __GFP_HIGH (here: it carries __GFP_NORETRY, see {@link Gfp22}). A PF_MEMALLOC task skips all of it and
 * takes pages down to zero. A failed __GFP_WAIT allocation yields the CPU once (SCHED_YIELD).
 */
final class GetFreePages22 {
    /** NR_MEM_LISTS: orders 0..5. */
    static final int NR_MEM_LISTS = 6;

    private final PageAlloc pa;
    private final long min;
    private final long low;
    private final long high;
    // low_on_memory: a racy global, as in 2.2.
    private volatile boolean lowOnMemory;

    GetFreePages22(PageAlloc pa, long managedPages) {
        this.pa = pa;
        // free_area_init(): i = pages >> 7, clamped to [10, 256]; min i, low 2i, high 3i.
        long i = Math.max(10, Math.min(256, managedPages >> 7));
        this.min = i;
        this.low = 2 * i;
        this.high = 3 * i;
    }

    long min() {
        return min;
    }

    long low() {
        return low;
    }

    long high() {
        return high;
    }

    boolean lowOnMemory() {
        return lowOnMemory;
    }

    /** {@code gfp} is after current_gfp_context() (PageAlloc applies it). Returns a pfn or NULL_PAGE. */
    int getFreePages(Task t, int gfp, int order, ReclaimHooks hooks) {
        if (order >= NR_MEM_LISTS) {
            t.recordAllocFailure(gfp, order, AllocFailure.Reason.NO_PROGRESS.ordinal());
            return PageAlloc.NULL_PAGE;
        }
        if ((t.flags() & PF_MEMALLOC) == 0 && !okToAllocate()) {
            lowOnMemory = true;
            pa.countAllocstall(t);
            t.setFlags(t.flags() | PF_MEMALLOC);
            long freed;
            try {
                freed = hooks.tryToFreePages(gfp, order);
            } finally {
                t.setFlags(t.flags() & ~PF_MEMALLOC);
            }
            if (freed == 0 && (gfp & Gfp22.__GFP_LOW) != 0 && (gfp & Gfp22.__GFP_HIGH) == 0) {
                t.recordAllocFailure(gfp, order, AllocFailure.Reason.NO_PROGRESS.ordinal());
                return PageAlloc.NULL_PAGE;
            }
        }
        int pfn = pa.rmqueue(t, order);
        if (pfn != PageAlloc.NULL_PAGE) {
            return pfn;
        }
        if ((gfp & Gfp22.__GFP_WAIT) != 0) {
            // current->policy |= SCHED_YIELD; schedule(): the caller (getblk, a fault) retries.
            Thread.yield();
        }
        t.recordAllocFailure(gfp, order, AllocFailure.Reason.NO_DIRECT_RECLAIM.ordinal());
        return PageAlloc.NULL_PAGE;
    }

    private boolean okToAllocate() {
        long free = pa.nrFreePages();
        if (free > min) {
            if (!lowOnMemory) {
                return true;
            }
            if (free >= high) {
                lowOnMemory = false;
                return true;
            }
        }
        return false;
    }
}
