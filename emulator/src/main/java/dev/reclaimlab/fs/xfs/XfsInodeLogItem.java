package dev.reclaimlab.fs.xfs;

/**
 * struct xfs_inode_log_item (fs/xfs/xfs_inode_item.c): how an inode goes into the log. Pinning it counts
 * on the inode's i_pincount; the last unpin wakes xfs_iunpin_wait().
 */
final class XfsInodeLogItem implements XfsLogItem {
    /** sizeof(struct xfs_inode_log_format) + sizeof(struct xfs_log_dinode). */
    static final int INODE_CORE_SIZE = 56 + 176;
    /** One packed extent record (xfs_bmbt_rec_t). */
    static final int EXTENT_SIZE = 16;

    private final XfsInode ip;

    XfsInodeLogItem(XfsInode ip) {
        this.ip = ip;
    }

    @Override
    public String describe() {
        return "inode " + ip.ino();
    }

    /** xfs_inode_item_size(): the core plus the data fork, as extents. */
    @Override
    public int formatSize() {
        long extents = ip.dinode().nblocks();
        return (int) Math.min(INODE_CORE_SIZE + extents * EXTENT_SIZE, 64 << 10);
    }

    /** xfs_inode_item_pin(). */
    @Override
    public void iopPin() {
        ip.pin();
    }

    /** xfs_inode_item_unpin(). */
    @Override
    public void iopUnpin() {
        ip.unpin();
    }
}
