package dev.reclaimlab.mm;

/**
 * struct shrink_control: what one shrinker call may do. {@link #gfpMask} tells a filesystem shrinker
 * whether it may recurse into the filesystem (no __GFP_FS: it must return {@link Shrinker#SHRINK_STOP});
 * {@link #nrScanned} may be lowered by the shrinker to what it really looked at.
 */
public final class ShrinkControl {
    public final int gfpMask;
    public long nrToScan;
    public long nrScanned;

    public ShrinkControl(int gfpMask) {
        this.gfpMask = gfpMask;
    }
}
