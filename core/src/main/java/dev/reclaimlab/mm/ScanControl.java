package dev.reclaimlab.mm;

/** struct scan_control: one reclaim pass's limits and results (mm/vmscan.c). */
final class ScanControl {
    static final int DEF_PRIORITY = 12;
    static final int SWAP_CLUSTER_MAX = 32;

    final int gfpMask;
    final int order;
    final long nrToReclaim;
    final boolean mayWritepage;
    final boolean kswapd;
    int priority = DEF_PRIORITY;
    long nrScanned;
    long nrReclaimed;
    /** Pages found under writeback, and of them those reclaim had already asked to be written. */
    long nrWriteback;
    long nrImmediate;
    long slabFreed;
    // shrink_page_list()'s counts for the batch being shrunk (3.14's nr_dirty ... nr_immediate).
    long batchDirty;
    long batchUnqueuedDirty;
    long batchCongested;
    long batchWriteback;
    long batchImmediate;
    /**
     * The pages shrink_inactive_list() or shrink_active_list() isolated (the kernel's on-stack page_list):
     * one array for the pass, as the lists are shrunk one after the other and never nested; an array per
     * call was 144 bytes at every priority.
     */
    final int[] isolated = new int[SWAP_CLUSTER_MAX];

    ScanControl(int gfpMask, int order, long nrToReclaim, boolean mayWritepage, boolean kswapd) {
        this.gfpMask = gfpMask;
        this.order = order;
        this.nrToReclaim = nrToReclaim;
        this.mayWritepage = mayWritepage;
        this.kswapd = kswapd;
    }

    /** A new batch of isolated pages: its counts start at zero. */
    void startBatch() {
        batchDirty = 0;
        batchUnqueuedDirty = 0;
        batchCongested = 0;
        batchWriteback = 0;
        batchImmediate = 0;
    }

    boolean mayEnterFs() {
        return (gfpMask & Gfp.__GFP_FS) != 0;
    }

    boolean mayIo() {
        return (gfpMask & Gfp.__GFP_IO) != 0;
    }
}
