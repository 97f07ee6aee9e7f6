package dev.reclaimlab.mm;

/**
 * struct address_space_operations: what a filesystem does for the page cache. Pages come locked where
 * the kernel passes them locked; {@link #readpage} and {@link #writepage} unlock them (at IO completion
 * or before returning).
 */
public interface AddressSpaceOperations {
    /** Fill the locked page at its index; SetPageUptodate and unlock when done (maybe asynchronously). */
    int readpage(AddressSpace mapping, int page);

    /** Whether {@link #readpages} is implemented; readahead falls back to one readpage() per page if not. */
    default boolean hasReadpages() {
        return false;
    }

    /**
     * readpages(): read the first {@code nrPages} of {@code pages}, new pages not in any cache whose index
     * is set, as readahead hands them over: add each to the cache (add_to_page_cache_lru() with
     * {@link Readahead#readpagesGfp}) and read it, and drop the caller's reference on every one, added or
     * not. Returns 0 or a negative errno; pages it could not read are left !uptodate.
     */
    default int readpages(AddressSpace mapping, int[] pages, int nrPages) {
        throw new UnsupportedOperationException("readpages(" + mapping + "): not implemented");
    }

    /**
     * Write the locked page, whose dirty bit the caller already cleared: setPageWriteback, unlock, and
     * endPageWriteback when the IO completes. Return {@link #AOP_WRITEPAGE_ACTIVATE} to keep it dirty.
     */
    int writepage(AddressSpace mapping, int page, WritebackControl wbc);

    /** Whether {@link #writepages} is implemented; do_writepages() falls back to generic_writepages() if not. */
    default boolean hasWritepages() {
        return false;
    }

    /**
     * ->writepages(), which do_writepages() calls instead of write_cache_pages() with {@link #writepage}: a
     * filesystem that gathers pages into larger IO walks the dirty pages itself through
     * {@link Writeback#writeCachePages(AddressSpace, WritebackControl, Writeback.Writepage)} and sends what it
     * gathered before returning. Returns the dirty pages left behind, as write_cache_pages() does.
     */
    default long writepages(AddressSpace mapping, WritebackControl wbc) {
        throw new UnsupportedOperationException("writepages(" + mapping + "): not implemented");
    }

    /**
     * try_to_release_page(): drop the filesystem's private data so the page can be freed; may sleep (NFS
     * waits for a COMMIT here) when {@code gfp} allows. False keeps the page.
     */
    default boolean releasepage(AddressSpace mapping, int page, int gfp) {
        return true;
    }

    /** {@link #isDirtyWriteback}: the page counts as dirty for reclaim's throttling. */
    int DIRTY = 1;
    /** {@link #isDirtyWriteback}: the page counts as under writeback for reclaim's throttling. */
    int WRITEBACK = 2;
    /** {@link #isDirtyWriteback}: the filesystem does not say; reclaim reads PG_dirty and PG_writeback. */
    int NOT_IMPLEMENTED = -1;

    /**
     * ->is_dirty_writeback() (3.11+), asked by shrink_page_list() for a locked page with private data: how
     * the page should count for throttling, {@link #DIRTY} and/or {@link #WRITEBACK}, when its flags do not
     * tell (an NFS page written UNSTABLE is neither dirty nor under writeback, yet the server still owes it).
     */
    default int isDirtyWriteback(AddressSpace mapping, int page) {
        return NOT_IMPLEMENTED;
    }

    /**
     * super_operations->write_inode() of the cache's inode, which __writeback_single_inode() calls after
     * writing the pages of a dirty inode (the emulator's flusher knows mappings, not inodes, so it is
     * reached here). NFS commits unstable pages from it. May mark the inode dirty again.
     */
    default void writeInode(AddressSpace mapping, WritebackControl wbc) {
    }

    /** The page is being truncated out of the cache. */
    default void invalidatepage(AddressSpace mapping, int page) {
    }

    /** writepage() asks the caller to activate the page and leave it dirty. */
    int AOP_WRITEPAGE_ACTIVATE = 0x80000;
}
