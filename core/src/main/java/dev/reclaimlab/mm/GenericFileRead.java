package dev.reclaimlab.mm;

import static dev.reclaimlab.kernel.Errno.EEXIST;
import static dev.reclaimlab.kernel.Errno.EIO;
import static dev.reclaimlab.kernel.Errno.ENOMEM;
import static dev.reclaimlab.mm.MemMap.NO_PFN;

/**
 * do_generic_file_read() of mm/filemap.c as in Linux 4.3, the buffered read under every filesystem's
 * read_iter: for each page of the read, find it in the cache; on a miss ask readahead for a window
 * (page_cache_sync_readahead()) and look again; at the PG_readahead marker start the next window; wait
 * for a page under read with lock_page_killable(); only when readahead could not put the page there,
 * allocate it cold with the mapping's gfp and add it with GFP_KERNEL & mapping_gfp_mask() (4.3 already
 * obeyed the mapping here; the fix of seed 001 is on the readahead path).
 */
final class GenericFileRead {
    private final Mm mm;
    private final Filemap fm;

    GenericFileRead(Mm mm, Filemap fm) {
        this.mm = mm;
        this.fm = fm;
    }

    /**
     * Reads up to {@code len} bytes at {@code pos} of {@code mapping} into {@code actor}, short at i_size,
     * updating the file's readahead state. Returns the bytes read, or a negative errno if none were.
     */
    long doGenericFileRead(AddressSpace mapping, FileRaState ra, long pos, long len, Filemap.ReadActor actor) {
        long index = pos >>> PhysMem.PAGE_SHIFT;
        long prevIndex = ra.prevPos >>> PhysMem.PAGE_SHIFT;
        int prevOffset = (int) (ra.prevPos & (PhysMem.PAGE_SIZE - 1));
        long lastIndex = (pos + len + PhysMem.PAGE_SIZE - 1) >>> PhysMem.PAGE_SHIFT;
        int offset = (int) (pos & (PhysMem.PAGE_SIZE - 1));
        long left = len;
        long written = 0;
        int error = 0;
        Readahead readahead = mm.readahead();
        while (left > 0) {
            int page = fm.findGetPage(mapping, index);
            if (page == NO_PFN) {
                readahead.pageCacheSyncReadahead(mapping, ra, index, lastIndex - index);
                page = fm.findGetPage(mapping, index);
                if (page == NO_PFN) {
                    page = noCachedPage(mapping, ra, index);
                    if (page == FIND_AGAIN) {
                        continue;
                    }
                    if (page < 0) {
                        error = page;
                        break;
                    }
                }
            }
            if (fm.pageReadahead(page)) {
                readahead.pageCacheAsyncReadahead(mapping, ra, page, index, lastIndex - index);
            }
            if (!fm.pageUptodate(page)) {
                int err = pageNotUpToDate(mapping, ra, page);
                if (err == RETRY) {
                    continue;
                }
                if (err < 0) {
                    error = err;
                    break;
                }
            }
            // page_ok: i_size is checked only once the page is uptodate, so a racing truncate is seen.
            long isize = mapping.iSizeRead();
            long endIndex = (isize - 1) >>> PhysMem.PAGE_SHIFT;
            if (isize == 0 || index > endIndex) {
                fm.putPage(page);
                break;
            }
            int nr = PhysMem.PAGE_SIZE;
            if (index == endIndex) {
                nr = (int) ((isize - 1) & (PhysMem.PAGE_SIZE - 1)) + 1;
                if (nr <= offset) {
                    fm.putPage(page);
                    break;
                }
            }
            nr -= offset;
            if (prevIndex != index || offset != prevOffset) {
                fm.markPageAccessed(page);
            }
            prevIndex = index;
            int ret = (int) Math.min(nr, left);
            actor.copyPageToIter(mm.pageAddress(page) + offset, ret);
            offset += ret;
            index += offset >>> PhysMem.PAGE_SHIFT;
            offset &= PhysMem.PAGE_SIZE - 1;
            prevOffset = offset;
            fm.putPage(page);
            written += ret;
            left -= ret;
        }
        ra.prevPos = (prevIndex << PhysMem.PAGE_SHIFT) | prevOffset;
        return written > 0 ? written : error;
    }

    /** Go round again for the same index (the page went away, or someone else filled it). */
    private static final int RETRY = 1;
    /** {@link #noCachedPage}'s "goto find_page". */
    private static final int FIND_AGAIN = Integer.MIN_VALUE;

    /**
     * page_not_up_to_date: the page is being read (or a read failed): wait for its lock, then read it
     * ourselves if it is still not uptodate. 0 when it is uptodate (with our reference), {@link #RETRY}
     * when it was truncated meanwhile, or a negative errno (the reference dropped).
     */
    private int pageNotUpToDate(AddressSpace mapping, FileRaState ra, int page) {
        if (fm.lockPageKillable(page) != 0) {
            fm.putPage(page);
            return -dev.reclaimlab.kernel.Errno.EINTR;
        }
        if (fm.pageMapping(page) != mapping) {
            fm.unlockPage(page);
            fm.putPage(page);
            return RETRY;
        }
        if (fm.pageUptodate(page)) {
            fm.unlockPage(page);
            return 0;
        }
        return readpage(mapping, ra, page);
    }

    /**
     * readpage: the locked page is not uptodate (a previous read failed, or we added it): read it, and
     * wait for the read with the page lock. Same returns as {@link #pageNotUpToDate}.
     */
    private int readpage(AddressSpace mapping, FileRaState ra, int page) {
        int err = mapping.aops().readpage(mapping, page);
        if (err < 0) {
            fm.putPage(page);
            return err;
        }
        if (!fm.pageUptodate(page)) {
            if (fm.lockPageKillable(page) != 0) {
                fm.putPage(page);
                return -dev.reclaimlab.kernel.Errno.EINTR;
            }
            if (!fm.pageUptodate(page)) {
                if (fm.pageMapping(page) == null) {
                    // invalidate_mapping_pages() got it.
                    fm.unlockPage(page);
                    fm.putPage(page);
                    return RETRY;
                }
                fm.unlockPage(page);
                // shrink_readahead_size_eio().
                ra.raPages /= 4;
                fm.putPage(page);
                return -EIO;
            }
            fm.unlockPage(page);
        }
        return 0;
    }

    /**
     * no_cached_page: readahead did not leave the page: allocate it cold with the mapping's gfp and add
     * it with GFP_KERNEL & mapping_gfp_mask(), then read it. The uptodate page with our reference,
     * {@link #FIND_AGAIN} if another task added it first or it went away, or a negative errno.
     */
    private int noCachedPage(AddressSpace mapping, FileRaState ra, long index) {
        int page = mm.allocPages(mapping.mappingGfpMask() | Gfp.__GFP_COLD, 0);
        if (page == NO_PFN) {
            return -ENOMEM;
        }
        int err = fm.addToPageCacheLru(page, mapping, index, Gfp.GFP_KERNEL & mapping.mappingGfpMask());
        if (err != 0) {
            fm.putPage(page);
            return err == -EEXIST ? FIND_AGAIN : err;
        }
        int r = readpage(mapping, ra, page);
        return r == 0 ? page : r == RETRY ? FIND_AGAIN : r;
    }
}
