package dev.reclaimlab.mm;

/** struct writeback_control: why and how hard a page is being written. */
public final class WritebackControl {
    public enum SyncMode { WB_SYNC_NONE, WB_SYNC_ALL }

    public final SyncMode syncMode;
    /** Reclaim asked for this write (pageout()); the filesystem must not block on other IO. */
    public final boolean forReclaim;
    public final boolean forBackground;
    public long nrToWrite;

    public WritebackControl(SyncMode syncMode, boolean forReclaim, boolean forBackground, long nrToWrite) {
        this.syncMode = syncMode;
        this.forReclaim = forReclaim;
        this.forBackground = forBackground;
        this.nrToWrite = nrToWrite;
    }
}
