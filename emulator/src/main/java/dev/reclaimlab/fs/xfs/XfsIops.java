package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.fs.Inode;
import dev.reclaimlab.kernel.Errno;

/**
 * fs/xfs/xfs_iops.c (Linux 4.3): the inode operation the read path reaches, update_time. Read in a 4.2-4.5
 * xfs_iops.c (xfs_trans_alloc(mp, XFS_TRANS_FSYNC_TS) then xfs_trans_reserve(tp, &M_RES(mp)->tr_fsyncts, 0, 0),
 * the one-argument xfs_trans_commit() of 4.2 on; 4.6 folded the two into xfs_trans_alloc()).
 */
final class XfsIops {
    private XfsIops() {
    }

    /**
     * xfs_vn_update_time(): a transaction of its own for a timestamp change. The handle is allocated
     * KM_SLEEP (GFP_KERNEL: the 4.3 _xfs_trans_alloc() runs before xfs_trans_reserve() sets PF_FSTRANS), then
     * under XFS_ILOCK_EXCL the times are set, the inode joined and logged with XFS_ILOG_TIMESTAMP, and the
     * commit puts it in the CIL, which pins it until that checkpoint is on disk. From touch_atime() this runs
     * with the reader's XFS_IOLOCK_SHARED held.
     */
    static int xfsVnUpdateTime(Xfs mp, XfsInode ip, long now, int flags) {
        if (mp.forcedShutdown()) {
            return -Errno.EIO;
        }
        try (XfsTrans tp = XfsTrans.xfsTransAlloc(mp)) {
            ip.xfsIlock(XfsInode.XFS_ILOCK_EXCL);
            ip.setTimes(flags & (Inode.S_ATIME | Inode.S_MTIME | Inode.S_CTIME), now);
            ip.xfsSyncTimes();
            tp.xfsTransIjoin(ip, XfsInode.XFS_ILOCK_EXCL);
            tp.xfsTransLogInode(ip);
            tp.xfsTransCommit();
        }
        return 0;
    }
}
