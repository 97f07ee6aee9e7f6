package dev.reclaimlab.block.request;

/**
 * A block device of Linux 2.2 as ll_rw_blk.c sees it: blk_dev[major] with its request function, its
 * block size (blksize_size) and its size (blk_size). {@link #addRequest} is add_request() from the
 * driver's side: a disk queues the request behind its plug until tq_disk runs, nbd sends it at once in
 * the submitter's context.
 */
public abstract class BlockDriver22 {
    protected final Blk22 blk;
    private final String name;
    private final int blockSize;
    private final long sizeBytes;

    protected BlockDriver22(Blk22 blk, String name, int blockSize, long sizeBytes) {
        if (blockSize < 512 || blockSize > 4096 || Integer.bitCount(blockSize) != 1) {
            throw new IllegalArgumentException(name + ": block size " + blockSize + " is not a power of two in [512, 4096]");
        }
        if (sizeBytes <= 0 || sizeBytes % blockSize != 0) {
            throw new IllegalArgumentException(name + ": size " + sizeBytes + " is not a positive number of "
                    + blockSize + "-byte blocks");
        }
        this.blk = blk;
        this.name = name;
        this.blockSize = blockSize;
        this.sizeBytes = sizeBytes;
    }

    public final String name() {
        return name;
    }

    public final int blockSize() {
        return blockSize;
    }

    public final long sizeBytes() {
        return sizeBytes;
    }

    public final long nrBlocks() {
        return sizeBytes / blockSize;
    }

    public final Blk22 blk() {
        return blk;
    }

    /** NBD_MAJOR: never plugged, and writes may take only half the write requests. */
    public abstract boolean isNbd();

    /** add_request(): the request is filled in and holds its buffer locked. */
    protected abstract void addRequest(Request req);

    /** unplug_device() from tq_disk: start what the plug held back. */
    protected void unplug() {
    }

    @Override
    public String toString() {
        return name;
    }
}
