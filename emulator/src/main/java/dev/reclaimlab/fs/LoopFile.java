package dev.reclaimlab.fs;

import dev.reclaimlab.block.LoopBackingFile;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.mm.FileRaState;
import dev.reclaimlab.mm.Mm;

/**
 * A regular file as a loop device's backing store (drivers/block/loop.c lo_read_simple/lo_write_bvec after
 * the 4.3 switch to ITER_BVEC): each segment goes straight through the file system's read_iter and
 * write_iter into and out of the bio's pages, on the loop worker, under the file's own locks.
 */
public final class LoopFile implements LoopBackingFile {
    private final SuperBlock sb;
    private final Inode inode;
    private final Mm mm;
    /** lo->lo_backing_file->f_ra: every loop worker's reads share the one open file's readahead. */
    private final FileRaState ra;

    /** Takes a reference on {@code inode} for as long as the loop device uses it. */
    public LoopFile(SuperBlock sb, Inode inode) {
        this.sb = sb;
        this.inode = inode;
        this.mm = sb.kernel().mm();
        this.ra = new FileRaState(inode.mapping());
        sb.ihold(inode);
    }

    /** The backing file's readahead state. */
    public FileRaState ra() {
        return ra;
    }

    public Inode inode() {
        return inode;
    }

    @Override
    public long loopSize() {
        return inode.iSize();
    }

    @Override
    public int loopReadIter(long pos, int pfn, int offset, int len) {
        long addr = mm.pageAddress(pfn) + offset;
        long n = sb.fileOps().readIter(inode, ra, pos, IovIter.ofBvec(addr), len);
        if (n < 0) {
            return (int) n;
        }
        if (n < len) {
            // Past the end of the file the loop device reads zeros.
            mm.mem().memset(addr + n, 0, len - n);
        }
        return 0;
    }

    @Override
    public int loopWriteIter(long pos, int pfn, int offset, int len) {
        long n = sb.fileOps().writeIter(inode, pos, IovIter.ofBvec(mm.pageAddress(pfn) + offset), len);
        if (n < 0) {
            return (int) n;
        }
        return n == len ? 0 : -Errno.EIO;
    }

    @Override
    public int loopFsync() {
        return sb.fileOps().fsync(inode);
    }

    /** Drops the reference taken at set-up (loop_clr_fd()). */
    public void release() {
        sb.iput(inode);
    }
}
