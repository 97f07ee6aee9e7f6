package dev.reclaimlab.mm;

/**
 * struct address_space_operations: what a filesystem does for the page cache. Pages come locked where
 * the kernel passes them locked; {@link #readpage} and {@link #writepage} unlock them (at IO completion
 * or before returning).
 */
public interface AddressSpaceOperations {
    /** Fill the locked page at its index; SetPageUptodate and unlock when done (maybe asynchronously). */
    int readpage(AddressSpace mapping, int page);

    /**
     * Write the locked page, whose dirty bit the caller already cleared: setPageWriteback, unlock, and
     * endPageWriteback when the IO completes. Return {@link #AOP_WRITEPAGE_ACTIVATE} to keep it dirty.
     */
    int writepage(AddressSpace mapping, int page, WritebackControl wbc);

    /**
     * try_to_release_page(): drop the filesystem's private data so the page can be freed; may sleep (NFS
     * waits for a COMMIT here) when {@code gfp} allows. False keeps the page.
     */
    default boolean releasepage(AddressSpace mapping, int page, int gfp) {
        return true;
    }

    /** The page is being truncated out of the cache. */
    default void invalidatepage(AddressSpace mapping, int page) {
    }

    /** writepage() asks the caller to activate the page and leave it dirty. */
    int AOP_WRITEPAGE_ACTIVATE = 0x80000;
}
