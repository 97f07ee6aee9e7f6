package dev.reclaimlab.fs.xfs;

/** Mount options (mount -o logbufs=,logbsize=) and the log size mkfs would choose. */
public final class XfsMountOptions {
    private final long logSectors;
    private final int logbufs;
    private final int logbsize;

    public XfsMountOptions(long logSectors, int logbufs, int logbsize) {
        if (logSectors <= 0) {
            throw new IllegalArgumentException("xfs: log of " + logSectors + " sectors");
        }
        this.logSectors = logSectors;
        this.logbufs = logbufs;
        this.logbsize = logbsize;
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
