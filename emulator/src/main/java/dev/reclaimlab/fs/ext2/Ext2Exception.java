package dev.reclaimlab.fs.ext2;

/** A system call on the ext2 of Linux 2.2.1 failed with {@code errno} (positive, e.g. Errno.ENOENT). */
public final class Ext2Exception extends RuntimeException {
    private final int errno;

    public Ext2Exception(int errno, String message) {
        super(message + " (errno " + errno + ")");
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }
}
