package dev.reclaimlab.swap;

import dev.reclaimlab.block.request.BlockDriver22;
import dev.reclaimlab.mm.PhysMem;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * mm/page_io.c as in Linux 2.2: rw_swap_page() and rw_swap_page_base(). A swap-out asks for asynchronous IO,
 * but once more than pager_daemon.swap_cluster (SWAP_CLUSTER_MAX, 32) pages are in flight the request is
 * made synchronous ("Don't allow too many pending pages in flight..") and the caller sleeps in
 * wait_on_page() until that one page's IO is done: 2.2's synchronous swap-out. The IO is brw_page() to the
 * swap partition in the caller's context, or, with {@link Kswiod#KSWIOD_PAGE_IO}, a write queued to kswiod,
 * which then owes the page. IO completion runs {@link #afterUnlockPage} (fs/buffer.c's after_unlock_page()).
 */
public final class PageIo {
    public static final int READ = 0;
    public static final int WRITE = 1;

    private final Mm22 mm;
    private final AtomicInteger nrAsyncPages = new AtomicInteger();
    private final AtomicLong pswpout = new AtomicLong();
    private final AtomicLong pswpin = new AtomicLong();
    private final AtomicLong forcedSync = new AtomicLong();

    PageIo(Mm22 mm) {
        this.mm = mm;
    }

    /** nr_async_pages. */
    public int nrAsyncPages() {
        return nrAsyncPages.get();
    }

    public long pswpout() {
        return pswpout.get();
    }

    public long pswpin() {
        return pswpin.get();
    }

    /** Swap IOs that rw_swap_page_base() made synchronous because too many were in flight. */
    public long forcedSync() {
        return forcedSync.get();
    }

    /** rw_swap_page(): {@code page} is locked and in the swap cache at {@code entry}. */
    public void rwSwapPage(int rw, long entry, Page22 page, boolean wait) {
        if (!page.swapCache() || page.offset() != entry) {
            throw new IllegalStateException("VM: swap page is not in swap cache: " + page + " entry 0x"
                    + Long.toHexString(entry));
        }
        rwSwapPageBase(rw, entry, page, wait);
    }

    private void rwSwapPageBase(int rw, long entry, Page22 page, boolean wait) {
        int off = SwapState.swpOffset(entry);
        BlockDriver22 dev = mm.swap().dev();
        if (dev == null || off >= dev.nrBlocks()) {
            throw new IllegalStateException("rw_swap_page: bad swap entry 0x" + Long.toHexString(entry));
        }
        // Don't allow too many pending pages in flight..
        if (nrAsyncPages.get() > Vmscan22.SWAP_CLUSTER_MAX) {
            if (!wait) {
                forcedSync.incrementAndGet();
            }
            wait = true;
        }
        if (!page.locked()) {
            throw new IllegalStateException("VM: swap page is unlocked: " + page);
        }
        mm.swap().lockEntry(off, page);
        if (rw == READ) {
            pswpin.incrementAndGet();
        } else {
            pswpout.incrementAndGet();
        }
        mm.getPage(page.pfn());
        if (!wait) {
            page.set(Page22.PG_decr_after);
            nrAsyncPages.incrementAndGet();
        }
        page.set(Page22.PG_swap_unlock_after);
        page.set(Page22.PG_free_after);
        if (rw == WRITE && mm.kswiod() != null) {
            mm.kswiod().queueSwap(page, dev, off);
        } else {
            mm.buffers().brwPage(rw, page, dev, new long[] {off}, PhysMem.PAGE_SIZE, false);
        }
        if (!wait) {
            return;
        }
        page.waitOnPage();
    }

    /** after_unlock_page(): the hooks a page's IO completion runs once PG_locked is clear. */
    public void afterUnlockPage(Page22 page) {
        if (page.testAndClear(Page22.PG_decr_after)) {
            nrAsyncPages.decrementAndGet();
        }
        if (page.testAndClear(Page22.PG_swap_unlock_after)) {
            mm.swap().swapAfterUnlockPage(page.offset());
        }
        if (page.testAndClear(Page22.PG_free_after)) {
            mm.freePage(page.pfn());
        }
    }
}
