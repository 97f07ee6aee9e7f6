package dev.reclaimlab.fs.xfs;

/**
 * Mount options (mount -o logbufs=,logbsize=,relatime) and the log size mkfs would choose. Without relatime
 * a mount updates no atime on reads, as with -o noatime: every scenario but xfs-on-loop's copy was measured
 * so; 4.3's default (MS_RELATIME) is the option.
 */
public final class XfsMountOptions {
    private final long logSectors;
    private final int logbufs;
    private final int logbsize;
    private final boolean relatime;

    public XfsMountOptions(long logSectors, int logbufs, int logbsize) {
        this(logSectors, logbufs, logbsize, false);
    }

    /** With {@code relatime}: MNT_RELATIME, reads go through touch_atime() -> xfs_vn_update_time(). */
    public XfsMountOptions(long logSectors, int logbufs, int logbsize, boolean relatime) {
        if (logSectors <= 0) {
            throw new IllegalArgumentException("xfs: log of " + logSectors + " sectors");
        }
        this.logSectors = logSectors;
        this.logbufs = logbufs;
        this.logbsize = logbsize;
        this.relatime = relatime;
    }

    /** The same options with -o relatime. */
    public XfsMountOptions withRelatime() {
        return new XfsMountOptions(logSectors, logbufs, logbsize, true);
    }

    public boolean relatime() {
        return relatime;
    }

    /** A 1 MiB log, 8 iclogs of 32 KiB (the kernel's defaults for logbufs and logbsize). */
    public static XfsMountOptions defaults() {
        return new XfsMountOptions(2048, 8, 32 << 10);
    }

    public long logSectors() {
        return logSectors;
    }

    public int logbufs() {
        return logbufs;
    }

    public int logbsize() {
        return logbsize;
    }
}
