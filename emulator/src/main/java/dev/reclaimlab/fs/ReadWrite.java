package dev.reclaimlab.fs;

import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.mm.PhysMem;

/**
 * The size and offset checks every read and write passes (fs/read_write.c rw_verify_area() and
 * mm/filemap.c generic_write_checks(), as in Linux 4.3). Filesystems call them from their read_iter and
 * write_iter, so a caller that bypasses the VFS (the loop driver) is checked too.
 */
public final class ReadWrite {
    /** MAX_RW_COUNT: the most one read or write moves, INT_MAX & PAGE_MASK. */
    public static final int MAX_RW_COUNT = Integer.MAX_VALUE & -PhysMem.PAGE_SIZE;
    /** MAX_LFS_FILESIZE on 64-bit: the largest s_maxbytes. */
    public static final long MAX_LFS_FILESIZE = Long.MAX_VALUE;

    private ReadWrite() {
    }

    /** rw_verify_area(): -EINVAL for a negative position or count, or a range whose end overflows; else 0. */
    public static int rwVerifyArea(long pos, long count) {
        if (pos < 0 || count < 0 || pos + count < 0) {
            return -Errno.EINVAL;
        }
        return 0;
    }

    /**
     * generic_write_checks(): how much of a write of {@code count} bytes at {@code pos} the file may take:
     * 0 for an empty write, -EFBIG at or beyond the filesystem's s_maxbytes, else the count cut to end there.
     * (With s_maxbytes at MAX_LFS_FILESIZE only rw_verify_area()'s overflow check can refuse a write.)
     */
    public static long genericWriteChecks(Inode inode, long pos, long count) {
        if (count == 0) {
            return 0;
        }
        long max = inode.sb().maxBytes();
        if (pos >= max) {
            return -Errno.EFBIG;
        }
        return Math.min(count, max - pos);
    }
}
