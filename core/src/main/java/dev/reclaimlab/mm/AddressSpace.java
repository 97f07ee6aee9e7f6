package dev.reclaimlab.mm;

/**
 * struct address_space: one inode's page cache. Pages are indexed in an {@link XArray} whose nodes come
 * from kernel memory with the inserting caller's gfp; {@link #mappingGfpMask()} is the mask the page
 * cache's own allocations should use (GFP_NOFS for XFS), which the 2015 kernel did not always obey.
 */
public final class AddressSpace {
    final int id;
    private final String host;
    final XArray pages;
    private final AddressSpaceOperations aops;
    private volatile int gfpMask = Gfp.GFP_HIGHUSER_MOVABLE;
    private volatile boolean destroyed;

    AddressSpace(Mm mm, int id, String host, AddressSpaceOperations aops) {
        this.id = id;
        this.host = host;
        this.aops = aops;
        this.pages = new XArray(mm, host + "->i_pages");
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

    /** Pages in this cache. */
    public long nrpages() {
        return pages.nrEntries();
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
