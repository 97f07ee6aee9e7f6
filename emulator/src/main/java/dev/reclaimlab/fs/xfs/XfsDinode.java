package dev.reclaimlab.fs.xfs;

import java.util.List;
import java.util.TreeMap;

/**
 * struct xfs_dinode as it would be on disk: an inode's metadata. The emulator keeps metadata in memory
 * (file data alone goes to the device), so this record outlives the in-core {@link XfsInode} that
 * caches it, as the on-disk inode outlives xfs_inode. Changed only under the in-core inode's XFS_ILOCK
 * (held exclusively) in a transaction.
 */
final class XfsDinode {
    /** No block mapped at this file offset (a hole). */
    static final long HOLE = XfsIext.HOLE;

    final long ino;
    final int mode;
    /** di_size: the size the log has recorded. */
    long size;
    int nlink;
    /** di_atime, di_mtime, di_ctime in nanoseconds; the in-core inode takes them at xfs_iget(). */
    long atime;
    long mtime;
    long ctime;
    /** The data fork: file block -> disk block, sparse. */
    private final XfsIext dataFork = new XfsIext();
    /** The directory's entries (shortform directory data), null for files. */
    final TreeMap<String, Long> entries;

    XfsDinode(long ino, int mode, int nlink) {
        this.ino = ino;
        this.mode = mode;
        this.nlink = nlink;
        this.entries = (mode & dev.reclaimlab.fs.Inode.S_IFDIR) != 0 ? new TreeMap<>() : null;
    }

    /** xfs_bmapi_read() of one block. */
    long bmapRead(long fileBlock) {
        return dataFork.lookup(fileBlock);
    }

    /** xfs_bmapi_write() of one block into a hole. */
    void bmapSet(long fileBlock, long diskBlock) {
        dataFork.insert(fileBlock, diskBlock);
    }

    /** Mapped blocks (di_nblocks). */
    long nblocks() {
        return dataFork.nblocks();
    }

    /** Extents in the data fork (di_nextents). */
    int nextents() {
        return dataFork.nextents();
    }

    /** Every mapped extent as {startblock, blockcount}, unmapping them (xfs_itruncate_extents() to zero). */
    List<long[]> bunmapAll() {
        return dataFork.removeAll();
    }
}
