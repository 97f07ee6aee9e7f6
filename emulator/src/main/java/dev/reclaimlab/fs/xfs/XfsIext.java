package dev.reclaimlab.fs.xfs;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The data fork's in-core extent list (fs/xfs/libxfs/xfs_bmap.c's xfs_bmbt_irec records, as in Linux 4.3):
 * runs of file blocks mapped to runs of disk blocks, sorted by file offset. Sparse by construction: a file
 * with one block at offset 2^50 costs one record, so no write offset the VFS lets through can exhaust the
 * heap or fail to map. A block mapped next to a neighbouring extent, contiguous on disk too, extends it.
 * Changed under the inode's XFS_ILOCK held exclusively, read under it shared.
 */
final class XfsIext {
    /** No block mapped at this file offset (a hole). */
    static final long HOLE = -1;

    // br_startoff -> {br_startblock, br_blockcount}
    private final TreeMap<Long, long[]> extents = new TreeMap<>();
    private long nblocks;

    /** xfs_bmapi_read() of one block: the disk block of file block {@code off}, or {@link #HOLE}. */
    long lookup(long off) {
        Map.Entry<Long, long[]> e = extents.floorEntry(off);
        if (e == null) {
            return HOLE;
        }
        long start = e.getKey();
        long[] x = e.getValue();
        return off - start < x[1] ? x[0] + (off - start) : HOLE;
    }

    /** xfs_bmap_add_extent_hole_real() of one block: maps the hole at {@code off} to {@code block}. */
    void insert(long off, long block) {
        if (off < 0 || block < 0) {
            throw new IllegalArgumentException("xfs_bmapi_write: file block " + off + " -> disk block " + block);
        }
        if (lookup(off) != HOLE) {
            throw new IllegalStateException("xfs_bmapi_write: file block " + off + " is already mapped");
        }
        Map.Entry<Long, long[]> left = extents.floorEntry(off);
        Map.Entry<Long, long[]> right = off == Long.MAX_VALUE ? null : extents.ceilingEntry(off + 1);
        boolean mergeLeft = left != null && left.getKey() + left.getValue()[1] == off
                && left.getValue()[0] + left.getValue()[1] == block;
        boolean mergeRight = right != null && right.getKey() == off + 1 && right.getValue()[0] == block + 1;
        if (mergeLeft && mergeRight) {
            left.getValue()[1] += 1 + right.getValue()[1];
            extents.remove(right.getKey());
        } else if (mergeLeft) {
            left.getValue()[1]++;
        } else if (mergeRight) {
            long[] r = extents.remove(right.getKey());
            extents.put(off, new long[] {block, r[1] + 1});
        } else {
            extents.put(off, new long[] {block, 1});
        }
        nblocks++;
    }

    /** di_nblocks: mapped blocks. */
    long nblocks() {
        return nblocks;
    }

    /** di_nextents. */
    int nextents() {
        return extents.size();
    }

    /** xfs_itruncate_extents() to zero: every mapped run as {startblock, blockcount}, unmapped. */
    List<long[]> removeAll() {
        List<long[]> out = new ArrayList<>(extents.size());
        for (long[] x : extents.values()) {
            out.add(new long[] {x[0], x[1]});
        }
        extents.clear();
        nblocks = 0;
        return out;
    }
}
