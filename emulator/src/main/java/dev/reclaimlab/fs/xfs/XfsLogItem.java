package dev.reclaimlab.fs.xfs;

/**
 * struct xfs_log_item with the xfs_item_ops the log calls (fs/xfs/xfs_trans.h): something a transaction
 * logs, e.g. an inode or a buffer. The log pins it when a commit puts it into a CIL checkpoint and unpins
 * it when that checkpoint is on disk; a pinned item must not be written back or freed (inode reclaim
 * forces the log and waits for the unpin).
 *
 * <p>Pin count: one pin per checkpoint that holds the item. Relogging an item into a checkpoint that
 * already holds it does not pin again (xfs_cil_prepare_item()); an item logged in two checkpoints is
 * pinned twice and unpinned once as each checkpoint's IO completes.
 */
public interface XfsLogItem {
    /** For messages: "inode 131" or "buf 0x1000". */
    String describe();

    /** Bytes the item's formatted log vector takes in a checkpoint (iop_size); never negative. */
    int formatSize();

    /** iop_pin: called by the committing task when the item enters a CIL checkpoint. */
    void iopPin();

    /** iop_unpin: called by the task completing the checkpoint's last iclog IO. */
    void iopUnpin();
}
