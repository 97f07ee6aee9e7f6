package dev.reclaimlab.swap;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * shrink_mmap() of Linux 2.2 (mm/filemap.c): a clock over mem_map that looks at {@code num_physpages >>
 * priority} pages with one user, clearing PG_referenced as it passes, and frees the first it can: a
 * swap-cache page nobody maps, an unreferenced buffer page whose buffers are all idle, an unreferenced
 * page-cache page. It never waits and never writes. The scan is bounded by two turns of the clock, which
 * 2.2 did not need (it always had pages with one user).
 */
final class ShrinkMmap {
    private final Mm22 mm;
    private final AtomicInteger clock = new AtomicInteger();
    private final AtomicLong freed = new AtomicLong();

    ShrinkMmap(Mm22 mm) {
        this.mm = mm;
    }

    long freed() {
        return freed.get();
    }

    boolean shrinkMmap(int priority, int gfp) {
        int limit = mm.nrPages();
        int count = limit >> priority;
        int visits = 2 * limit;
        do {
            int c = clock.updateAndGet(x -> x + 1 >= limit ? 0 : x + 1);
            Page22 page = mm.pageUnchecked(c);
            boolean referenced = page.testAndClear(Page22.PG_referenced);
            if (page.locked()) {
                continue;
            }
            if (mm.pageCount(c) != 1) {
                continue;
            }
            count--;
            if (page.swapCache()) {
                if (mm.swap().tryDeleteForShrink(page, referenced)) {
                    freed.incrementAndGet();
                    return true;
                }
                continue;
            }
            if (referenced) {
                continue;
            }
            if (page.buffers() != null) {
                if (mm.buffers().bufferUnderMin()) {
                    continue;
                }
                if (!mm.buffers().tryToFreeBuffers(page)) {
                    continue;
                }
                freed.incrementAndGet();
                return true;
            }
            if (page.inode() != null) {
                if (mm.pageCache().pgcacheUnderMin()) {
                    continue;
                }
                if (mm.pageCache().tryRemoveForShrink(page)) {
                    freed.incrementAndGet();
                    return true;
                }
            }
        } while (count > 0 && --visits > 0);
        return false;
    }
}
