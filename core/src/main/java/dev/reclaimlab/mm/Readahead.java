package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;

import static dev.reclaimlab.mm.MemMap.NO_PFN;
import static dev.reclaimlab.mm.PageFlags.PG_readahead;
import static dev.reclaimlab.mm.PageFlags.PG_writeback;

/**
 * mm/readahead.c as in Linux 4.3: on-demand readahead. A read that misses the cache asks
 * {@link #pageCacheSyncReadahead} for a window around the missing page; a read that reaches the page
 * marked PG_readahead asks {@link #pageCacheAsyncReadahead} for the next one. A window's pages are
 * allocated first, all of them, with the mapping's gfp plus __GFP_COLD | __GFP_NORETRY | __GFP_NOWARN
 * (page_cache_alloc_readahead(): readahead gives up rather than push hard), then handed to the
 * filesystem's readpages() in one batch, which adds each to the cache and reads it, one bio per
 * contiguous run on disk (fs/mpage.c).
 *
 * <p>Adding the pages to the cache is where 4.3-rc3 used GFP_KERNEL whatever the mapping said: the gfp
 * of add_to_page_cache_lru() is what radix_tree_preload() allocates tree nodes with, so an XFS image
 * read by the loop worker under XFS_IOLOCK could enter filesystem reclaim there (seed 001).
 * {@link #OBEY_MAPPING_GFP} is the fix.
 */
public final class Readahead {
    /**
     * Michal Hocko's fix from the seed 001 thread. Verified against the sources: 4.2's read_pages() and
     * mpage_readpages() pass GFP_KERNEL, 4.3's pass GFP_KERNEL & mapping_gfp_mask(mapping) (also to the
     * bio allocation in do_mpage_readpage()), 4.4 spells it mapping_gfp_constraint() (c62d25556be6).
     * Dave Chinner's report was against 4.3-rc3, before it landed.
     */
    public static final Fix OBEY_MAPPING_GFP = Fix.declare("obey_mapping_gfp",
            "add_to_page_cache_lru() on the readahead path (read_pages(), read_cache_pages(),"
                    + " mpage_readpages()) passes GFP_KERNEL & mapping_gfp_mask(mapping) instead of GFP_KERNEL",
            "mm, fs: obey gfp_mapping for add_to_page_cache() (Michal Hocko, posted 2015-09-25, respun"
                    + " 2015-10-02; in v4.3 after -rc3; commit id not verified here); the form"
                    + " mapping_gfp_constraint(mapping, GFP_KERNEL) is c62d25556be6 (4.4)",
            new KernelVersion(4, 3));

    /** MAX_READAHEAD (mm/readahead.c since 3.15, gone in 4.4): 2 MiB of pages, whatever ra_pages says. */
    public static final int MAX_READAHEAD = (512 * 4096) / PhysMem.PAGE_SIZE;

    private final Kernel kernel;
    private final Mm mm;
    private final MemMap map;
    private final Filemap fm;

    Readahead(Kernel kernel, Mm mm, MemMap map, Filemap fm) {
        this.kernel = kernel;
        this.mm = mm;
        this.map = map;
        this.fm = fm;
    }

    /**
     * The gfp of add_to_page_cache_lru() for pages readahead hands to read_pages()/readpages():
     * GFP_KERNEL before {@link #OBEY_MAPPING_GFP}, GFP_KERNEL & mapping_gfp_mask(mapping) after.
     */
    public static int readpagesGfp(Kernel kernel, AddressSpace mapping) {
        return kernel.config().has(OBEY_MAPPING_GFP) ? Gfp.GFP_KERNEL & mapping.mappingGfpMask() : Gfp.GFP_KERNEL;
    }

    /** page_cache_alloc_readahead()'s mask: the mapping's, cold, and giving up rather than retrying. */
    public static int readaheadAllocGfp(AddressSpace mapping) {
        return mapping.mappingGfpMask() | Gfp.__GFP_COLD | Gfp.__GFP_NORETRY | Gfp.__GFP_NOWARN;
    }

    /**
     * page_cache_sync_readahead(): the page at {@code offset} is not cached; read it and what the access
     * pattern suggests. {@code reqSize} is the rest of the caller's read in pages.
     */
    public void pageCacheSyncReadahead(AddressSpace mapping, FileRaState ra, long offset, long reqSize) {
        if (ra.raPages == 0) {
            return;
        }
        ondemandReadahead(mapping, ra, false, offset, reqSize);
    }

    /**
     * page_cache_async_readahead(): the read reached {@code page}, marked PG_readahead: start the next
     * window before the reader needs it. The marker bit is PG_reclaim's, so a page under writeback is left.
     * (inode_read_congested() is never true of the emulator's devices.)
     */
    public void pageCacheAsyncReadahead(AddressSpace mapping, FileRaState ra, int page, long offset, long reqSize) {
        if (ra.raPages == 0 || map.testFlag(page, PG_writeback)) {
            return;
        }
        map.clearFlag(page, PG_readahead);
        ondemandReadahead(mapping, ra, true, offset, reqSize);
    }

    /** A page-cache slot that holds a page: not empty, not the shadow of an evicted page. */
    private static boolean isPage(long entry) {
        return entry != 0 && !XArray.isExceptional(entry);
    }

    /** max_sane_readahead(). */
    static long maxSaneReadahead(long nr) {
        return Math.min(nr, MAX_READAHEAD);
    }

    /** get_init_ra_size(): the next power of two, x4 when small, x2 when medium, else the maximum. */
    static long getInitRaSize(long size, long max) {
        long newsize = size <= 1 ? 1 : Long.highestOneBit(size - 1) << 1;
        if (newsize <= max / 32) {
            return newsize * 4;
        }
        if (newsize <= max / 4) {
            return newsize * 2;
        }
        return max;
    }

    /** get_next_ra_size(): ramps the window up, fast while small. */
    static long getNextRaSize(FileRaState ra, long max) {
        long cur = ra.size;
        long newsize = cur < max / 16 ? 4 * cur : 2 * cur;
        return Math.min(newsize, max);
    }

    /** ondemand_readahead(): picks the window; returns the pages it submitted. */
    int ondemandReadahead(AddressSpace mapping, FileRaState ra, boolean hitReadaheadMarker, long offset,
                          long reqSize) {
        long max = maxSaneReadahead(ra.raPages);
        boolean initial = offset == 0;
        if (!initial && (offset == ra.start + ra.size - ra.asyncSize || offset == ra.start + ra.size)) {
            // The expected offset: a sequential stream; push the window forward.
            ra.start += ra.size;
            ra.size = (int) getNextRaSize(ra, max);
            ra.asyncSize = ra.size;
            return readit(mapping, ra, offset, max);
        }
        if (!initial && hitReadaheadMarker) {
            // A marker without a matching state (interleaved streams): ask the cache how far the old window went.
            long start = pageCacheNextHole(mapping, offset + 1, max);
            if (start == 0 || start - offset > max) {
                return 0;
            }
            ra.start = start;
            ra.size = (int) (start - offset + reqSize);
            ra.size = (int) getNextRaSize(ra, max);
            ra.asyncSize = ra.size;
            return readit(mapping, ra, offset, max);
        }
        if (!initial && reqSize <= max) {
            long prevOffset = ra.prevPos >>> PhysMem.PAGE_SHIFT;
            if (Long.compareUnsigned(offset - prevOffset, 1) > 0) {
                if (tryContextReadahead(mapping, ra, offset, reqSize, max)) {
                    return readit(mapping, ra, offset, max);
                }
                // A small random read: read it as is and leave the window alone.
                return doPageCacheReadahead(mapping, offset, reqSize, 0);
            }
        }
        ra.start = offset;
        ra.size = (int) getInitRaSize(reqSize, max);
        ra.asyncSize = ra.size > reqSize ? (int) (ra.size - reqSize) : ra.size;
        return readit(mapping, ra, offset, max);
    }

    /** The readit: label: a read that would hit its own marker merges the next window in at once. */
    private int readit(AddressSpace mapping, FileRaState ra, long offset, long max) {
        if (offset == ra.start && ra.size == ra.asyncSize) {
            ra.asyncSize = (int) getNextRaSize(ra, max);
            ra.size += ra.asyncSize;
        }
        return raSubmit(mapping, ra);
    }

    /** ra_submit(). */
    private int raSubmit(AddressSpace mapping, FileRaState ra) {
        return doPageCacheReadahead(mapping, ra.start, ra.size, ra.asyncSize);
    }

    /**
     * try_context_readahead(): pages cached just before {@code offset} are the trace of a sequential
     * stream (or of a file read from its start): size the window from them.
     */
    private boolean tryContextReadahead(AddressSpace mapping, FileRaState ra, long offset, long reqSize, long max) {
        long size = countHistoryPages(mapping, offset, max);
        if (size <= reqSize) {
            return false;
        }
        if (size >= offset) {
            size *= 2;
        }
        ra.start = offset;
        ra.size = (int) Math.min(size + reqSize, max);
        ra.asyncSize = 1;
        return true;
    }

    /** count_history_pages(): cached pages right before {@code offset}, at most {@code max}. */
    private long countHistoryPages(AddressSpace mapping, long offset, long max) {
        long head = pageCachePrevHole(mapping, offset - 1, max);
        return offset - 1 - head;
    }

    /** page_cache_next_hole(): the first index from {@code index} with no page, within {@code maxScan}. */
    long pageCacheNextHole(AddressSpace mapping, long index, long maxScan) {
        for (long i = 0; i < maxScan; i++) {
            if (!isPage(mapping.pages.xaLoad(index))) {
                break;
            }
            index++;
            if (index == 0) {
                break;
            }
        }
        return index;
    }

    /** page_cache_prev_hole(): the last index down from {@code index} with no page; -1 past index 0. */
    long pageCachePrevHole(AddressSpace mapping, long index, long maxScan) {
        for (long i = 0; i < maxScan && index >= 0; i++) {
            if (!isPage(mapping.pages.xaLoad(index))) {
                break;
            }
            index--;
        }
        return index;
    }

    /**
     * __do_page_cache_readahead(): allocates a page for every index of the window not cached (up to
     * i_size), marks the one {@code lookaheadSize} before the end PG_readahead, and reads them in one
     * batch. A page allocation that fails ends the window there. Returns the pages submitted.
     */
    int doPageCacheReadahead(AddressSpace mapping, long offset, long nrToRead, long lookaheadSize) {
        long isize = mapping.iSizeRead();
        if (isize == 0 || nrToRead <= 0) {
            return 0;
        }
        long endIndex = (isize - 1) >>> PhysMem.PAGE_SHIFT;
        int gfp = readaheadAllocGfp(mapping);
        int[] pagePool = new int[(int) Math.min(nrToRead, Integer.MAX_VALUE - 8)];
        int ret = 0;
        for (long pageIdx = 0; pageIdx < nrToRead; pageIdx++) {
            long pageOffset = offset + pageIdx;
            if (pageOffset > endIndex) {
                break;
            }
            if (isPage(mapping.pages.xaLoad(pageOffset))) {
                continue;
            }
            int page = mm.allocPages(gfp, 0);
            if (page == NO_PFN) {
                break;
            }
            map.setIndex(page, pageOffset);
            if (pageIdx == nrToRead - lookaheadSize) {
                map.setFlag(page, PG_readahead);
            }
            pagePool[ret++] = page;
        }
        if (ret > 0) {
            readPages(mapping, pagePool, ret);
        }
        return ret;
    }

    /**
     * read_pages(): the filesystem's readpages() for the whole batch, or add_to_page_cache_lru() and
     * readpage() page by page; either way the batch's own references are dropped. (No block plug: the
     * emulator's devices do not merge requests.)
     */
    void readPages(AddressSpace mapping, int[] pages, int nrPages) {
        AddressSpaceOperations aops = mapping.aops();
        if (aops.hasReadpages()) {
            aops.readpages(mapping, pages, nrPages);
            return;
        }
        int gfp = readpagesGfp(kernel, mapping);
        for (int i = 0; i < nrPages; i++) {
            int page = pages[i];
            if (fm.addToPageCacheLru(page, mapping, map.index(page), gfp) == 0) {
                aops.readpage(mapping, page);
            }
            fm.putPage(page);
        }
    }
}
