package dev.reclaimlab.mm;

/**
 * struct address_space: one inode's page cache. Pages are indexed in an {@link XArray} whose nodes come
 * from kernel memory with the inserting caller's gfp; {@link #mappingGfpMask()} is the mask the page
 * cache's own allocations should use (GFP_NOFS for XFS), which the 2015 kernel did not always obey.
 */
public final class AddressSpace {
    final Mm mm;
    final int id;
    private final String host;
    final XArray pages;
    private final AddressSpaceOperations aops;
    private volatile int gfpMask = Gfp.GFP_HIGHUSER_MOVABLE;
    private volatile BackingDevInfo bdi;
    private volatile java.util.function.LongSupplier hostSize = () -> 0;
    private volatile boolean destroyed;
    private volatile boolean exiting;
    // I_SYNC: tasks inside write_cache_pages() on this cache; eviction waits for them to leave.
    private final java.util.concurrent.atomic.AtomicInteger iSync = new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean dying;
    private final dev.reclaimlab.locking.WaitQueue iSyncWait;

    AddressSpace(Mm mm, int id, String host, AddressSpaceOperations aops) {
        this.mm = mm;
        this.bdi = mm.noopBdi();
        this.id = id;
        this.host = host;
        this.aops = aops;
        this.pages = new XArray(mm, host + "->i_pages", mm.workingset().hooksFor(), id);
        this.iSyncWait = new dev.reclaimlab.locking.WaitQueue(host + "->I_SYNC");
    }

    /** Enters writeback of this cache; false once eviction has begun (the inode is going away). */
    boolean beginWriteback() {
        iSync.incrementAndGet();
        if (dying) {
            endWriteback();
            return false;
        }
        return true;
    }

    void endWriteback() {
        if (iSync.decrementAndGet() == 0 && dying) {
            iSyncWait.wakeUp();
        }
    }

    /** inode_wait_for_writeback(): no new writeback starts; waits for the running one, owed by {@code flusher}. */
    void waitForWriteback(dev.reclaimlab.kernel.Task flusher) {
        dying = true;
        if (flusher != null) {
            iSyncWait.expectWaker(flusher);
        }
        iSyncWait.waitEvent(() -> iSync.get() == 0);
    }

    /** The inode this cache belongs to, for reports. */
    public String host() {
        return host;
    }

    public AddressSpaceOperations aops() {
        return aops;
    }

    /** mapping_gfp_mask(). */
    public int mappingGfpMask() {
        return gfpMask;
    }

    /** mapping_set_gfp_mask(): XFS sets GFP_NOFS on every inode's mapping. */
    public void mappingSetGfpMask(int gfp) {
        Gfp.check(gfp, "mapping_set_gfp_mask(" + host + ")");
        this.gfpMask = gfp;
    }

    /** i_size_read(mapping->host): what readahead and a read may not go past. */
    public long iSizeRead() {
        return hostSize.getAsLong();
    }

    /** Tells the cache how to read its inode's size; the inode does this when it sets up its mapping. */
    public void setHostSize(java.util.function.LongSupplier iSize) {
        if (iSize == null) {
            throw new IllegalArgumentException("setHostSize(" + host + "): null");
        }
        this.hostSize = iSize;
    }

    /** inode_to_bdi(): the device this cache writes to. */
    public BackingDevInfo bdi() {
        return bdi;
    }

    /** Sets the device this cache writes to (the superblock's s_bdi); before the cache has dirty pages. */
    public void setBdi(BackingDevInfo b) {
        if (b == null) {
            throw new IllegalArgumentException("setBdi(" + host + "): null");
        }
        this.bdi = b;
    }

    /** Pages in this cache (nrpages: the shadows of evicted ones are not counted). */
    public long nrpages() {
        return pages.nrEntries() - pages.nrExceptional();
    }

    /** The page-cache tree's radix_tree_node objects (interior and leaf), for tests and reports. */
    public long nrTreeNodes() {
        return pages.nodes();
    }

    /** nrshadows: shadow entries reclaim left where it evicted pages (4.3's workingset). */
    public long nrshadows() {
        return pages.nrExceptional();
    }

    /** AS_EXITING: the inode is being evicted; reclaim leaves no more shadows. */
    boolean exiting() {
        return exiting;
    }

    void setExiting() {
        exiting = true;
    }

    boolean destroyed() {
        return destroyed;
    }

    void markDestroyed() {
        destroyed = true;
    }

    @Override
    public String toString() {
        return host;
    }
}
