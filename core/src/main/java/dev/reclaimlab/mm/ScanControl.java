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

    ScanControl(int gfpMask, int order, long nrToReclaim, boolean mayWritepage, boolean kswapd) {
        this.gfpMask = gfpMask;
        this.order = order;
        this.nrToReclaim = nrToReclaim;
        this.mayWritepage = mayWritepage;
        this.kswapd = kswapd;
    }

    boolean mayEnterFs() {
        return (gfpMask & Gfp.__GFP_FS) != 0;
    }

    boolean mayIo() {
        return (gfpMask & Gfp.__GFP_IO) != 0;
    }
}
