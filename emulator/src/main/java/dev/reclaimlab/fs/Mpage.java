package dev.reclaimlab.fs;

import dev.reclaimlab.block.Bio;
import dev.reclaimlab.block.BlockDevice;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelPanic;
import dev.reclaimlab.mm.AddressSpace;
import dev.reclaimlab.mm.Filemap;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.mm.Readahead;

/**
 * fs/mpage.c's read side as in Linux 4.3, for a filesystem whose block is a page: mpage_readpages() adds
 * each page readahead hands over to the cache (add_to_page_cache_lru() with {@link Readahead#readpagesGfp}:
 * GFP_KERNEL in 4.3-rc3) and maps it with the filesystem's get_block(); pages on consecutive disk blocks
 * share one bio, a discontiguity submits it, a hole is zeroed and uptodate at once. The pages stay locked
 * until their bio ends; the unlock is owed by the bio, so a waiter on one names whoever the bio names (its
 * holder, or every worker that may take it off a queue). A read that cannot be mapped or issued (a bug:
 * get_block or submit threw) is an oops; its pages are unlocked, not uptodate, so readers see -EIO. (The bio's own gfp, which the fix also
 * changed, has nothing to act on: the emulator's bios are not kernel memory.)
 */
public final class Mpage {
    /** BIO_MAX_PAGES. */
    static final int BIO_MAX_PAGES = 256;
    static final int SECTORS_PER_PAGE = PhysMem.PAGE_SIZE >> Bio.SECTOR_SHIFT;

    /** get_block_t: the first sector of file block {@code index}, or {@link #HOLE}. May take the fs's locks. */
    public interface GetBlock {
        long HOLE = -1;

        long getBlock(long index);
    }

    private final Kernel kernel;
    private final Filemap fm;
    private final PhysMem mem;
    private final BlockDevice bdev;
    private final GetBlock getBlock;
    private final Runnable onReadError;

    /** {@code onReadError} is told of each page the device failed to read (for the fs's error counters). */
    public Mpage(Kernel kernel, BlockDevice bdev, GetBlock getBlock, Runnable onReadError) {
        if (kernel == null || bdev == null || getBlock == null || onReadError == null) {
            throw new IllegalArgumentException("mpage: kernel, bdev, get_block and error hook are required");
        }
        this.kernel = kernel;
        this.fm = kernel.mm().filemap();
        this.mem = kernel.mm().mem();
        this.bdev = bdev;
        this.getBlock = getBlock;
        this.onReadError = onReadError;
    }

    /** Where do_mpage_readpage() is in a batch: the bio being built and the sector after its last block. */
    private static final class Batch {
        Bio bio;
        long nextSector = -1;
    }

    /**
     * mpage_readpages(): adds and reads the first {@code nrPages} of {@code pages} (new, index set, ours)
     * and drops our reference on each, added or not (page_cache_release()).
     */
    public int mpageReadpages(AddressSpace mapping, int[] pages, int nrPages) {
        if (pages == null || nrPages < 0 || nrPages > pages.length) {
            throw new IllegalArgumentException("mpage_readpages(" + mapping + "): " + nrPages + " of "
                    + (pages == null ? "no" : pages.length) + " pages");
        }
        int gfp = Readahead.readpagesGfp(kernel, mapping);
        Batch b = new Batch();
        for (int i = 0; i < nrPages; i++) {
            int page = pages[i];
            if (fm.addToPageCacheLru(page, mapping, fm.pageIndex(page), gfp) == 0) {
                doMpageReadpage(b, page, nrPages - i);
            }
            fm.putPage(page);
        }
        if (b.bio != null) {
            mpageBioSubmit(b.bio);
        }
        return 0;
    }

    /** mpage_readpage(): the one locked page, in the cache already; unlocked when its read ends. */
    public int mpageReadpage(int page) {
        Batch b = new Batch();
        doMpageReadpage(b, page, 1);
        if (b.bio != null) {
            mpageBioSubmit(b.bio);
        }
        return 0;
    }

    /** do_mpage_readpage(): maps the locked page and adds it to the batch's bio, or zeroes a hole. */
    private void doMpageReadpage(Batch b, int page, int nrPages) {
        long sector;
        try {
            sector = getBlock.getBlock(fm.pageIndex(page));
        } catch (KernelPanic p) {
            throw p;
        } catch (RuntimeException e) {
            kernel.oops(e);
            onReadError.run();
            fm.unlockPage(page);
            return;
        }
        if (sector == GetBlock.HOLE) {
            mem.memset(kernel.mm().pageAddress(page), 0, PhysMem.PAGE_SIZE);
            fm.setPageUptodate(page);
            fm.unlockPage(page);
            return;
        }
        if (b.bio != null && b.nextSector != sector) {
            b.bio = mpageBioSubmit(b.bio);
        }
        if (b.bio == null) {
            b.bio = mpageAlloc(sector, Math.min(nrPages, BIO_MAX_PAGES));
        }
        if (!b.bio.addPage(page, PhysMem.PAGE_SIZE, 0)) {
            mpageBioSubmit(b.bio);
            b.bio = mpageAlloc(sector, Math.min(nrPages, BIO_MAX_PAGES));
            b.bio.addPage(page, PhysMem.PAGE_SIZE, 0);
        }
        fm.setPageLockOwedBy(page, b.bio);
        b.nextSector = sector + SECTORS_PER_PAGE;
    }

    /** mpage_alloc(): a read bio, whose end unlocks its pages. */
    private Bio mpageAlloc(long sector, int nrVecs) {
        Bio bio = new Bio(Bio.Op.READ, sector, nrVecs);
        bio.setEndIo(this::mpageEndIo);
        return bio;
    }

    /** mpage_bio_submit(): submits and forgets the bio (returns NULL, as the kernel's does). */
    private Bio mpageBioSubmit(Bio bio) {
        try {
            bdev.submitBio(bio);
        } catch (KernelPanic p) {
            throw p;
        } catch (RuntimeException e) {
            if (bio.ended()) {
                throw e;
            }
            kernel.oops(e);
            for (int i = 0; i < bio.vcnt(); i++) {
                onReadError.run();
                fm.unlockPage(bio.pfn(i));
            }
        }
        return null;
    }

    /** mpage_end_io() -> page_endio(READ): uptodate only if the device returned the data; unlocked either way. */
    private void mpageEndIo(Bio bio) {
        for (int i = 0; i < bio.vcnt(); i++) {
            int page = bio.pfn(i);
            if (bio.status() == 0) {
                fm.setPageUptodate(page);
            } else {
                onReadError.run();
            }
            fm.unlockPage(page);
        }
    }
}
