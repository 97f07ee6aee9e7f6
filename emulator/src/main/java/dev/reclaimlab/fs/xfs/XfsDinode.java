package dev.reclaimlab.fs.xfs;

import java.util.Arrays;
import java.util.TreeMap;

/**
 * struct xfs_dinode as it would be on disk: an inode's metadata. The emulator keeps metadata in memory
 * (file data alone goes to the device), so this record outlives the in-core {@link XfsInode} that
 * caches it, as the on-disk inode outlives xfs_inode. Changed only under the in-core inode's XFS_ILOCK
 * (held exclusively) in a transaction.
 */
final class XfsDinode {
    /** No block mapped at this file offset (a hole). */
    static final long HOLE = -1;

    final long ino;
    final int mode;
    /** di_size: the size the log has recorded. */
    long size;
    int nlink;
    /** The data fork: file block -> disk block, {@link #HOLE} where nothing is mapped. */
    private long[] bmap = new long[0];
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
        return fileBlock < bmap.length ? bmap[(int) fileBlock] : HOLE;
    }

    /** xfs_bmapi_write() of one block. */
    void bmapSet(long fileBlock, long diskBlock) {
        if (fileBlock >= Integer.MAX_VALUE) {
            throw new IllegalArgumentException("inode " + ino + ": file block " + fileBlock + " beyond the emulator's map");
        }
        if (fileBlock >= bmap.length) {
            int old = bmap.length;
            bmap = Arrays.copyOf(bmap, (int) Math.max(fileBlock + 1, old * 2L));
            Arrays.fill(bmap, old, bmap.length, HOLE);
        }
        bmap[(int) fileBlock] = diskBlock;
    }

    /** Mapped blocks (di_nblocks). */
    long nblocks() {
        long n = 0;
        for (long b : bmap) {
            if (b != HOLE) {
                n++;
            }
        }
        return n;
    }

    /** Every mapped disk block, unmapping them (xfs_itruncate_extents() to zero). */
    long[] bunmapAll() {
        long[] out = Arrays.stream(bmap).filter(b -> b != HOLE).toArray();
        bmap = new long[0];
        return out;
    }
}
