package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.fs.Inode;
import dev.reclaimlab.fs.InodeOperations;
import dev.reclaimlab.fs.VfsException;
import dev.reclaimlab.mm.Gfp;

import java.util.ArrayList;
import java.util.List;

/**
 * xfs_dir_inode_operations (fs/xfs/xfs_iops.c, xfs_inode.c): names in directories. Directory data is
 * metadata and lives in the dinode; every change is a transaction that locks the directory's ILOCK
 * (XFS_ILOCK_PARENT) before the child's and logs both inodes.
 */
final class XfsDir implements InodeOperations {
    private final Xfs mp;

    XfsDir(Xfs mp) {
        this.mp = mp;
    }

    /** xfs_vn_lookup() -> xfs_lookup(): the name under XFS_ILOCK_SHARED, then xfs_iget() without it. */
    @Override
    public Inode lookup(Inode dir, String name) {
        XfsInode dp = (XfsInode) dir;
        Long ino;
        dp.xfsIlock(XfsInode.XFS_ILOCK_SHARED);
        try {
            ino = dp.dinode().entries.get(name);
        } finally {
            dp.xfsIunlock(XfsInode.XFS_ILOCK_SHARED);
        }
        return ino == null ? null : mp.icache().xfsIget(ino, Gfp.GFP_KERNEL);
    }

    @Override
    public Inode create(Inode dir, String name) {
        return xfsCreate((XfsInode) dir, name, Inode.S_IFREG | 0644);
    }

    @Override
    public Inode mkdir(Inode dir, String name) {
        return xfsCreate((XfsInode) dir, name, Inode.S_IFDIR | 0755);
    }

    /** xfs_create(): allocates the inode, adds the name, logs both in one transaction. */
    XfsInode xfsCreate(XfsInode dp, String name, int mode) {
        if (mp.forcedShutdown()) {
            throw new VfsException(-Errno.EIO, "xfs_create(" + dp + ", " + name + "): filesystem shut down");
        }
        try (XfsTrans tp = XfsTrans.xfsTransAlloc(mp)) {
            dp.xfsIlock(XfsInode.XFS_ILOCK_EXCL | XfsInode.XFS_ILOCK_PARENT);
            tp.xfsTransIjoin(dp, XfsInode.XFS_ILOCK_EXCL | XfsInode.XFS_ILOCK_PARENT);
            if (dp.dinode().entries.containsKey(name)) {
                tp.xfsTransCancel();
                throw new VfsException(-Errno.EEXIST, "xfs_create(" + dp + ", " + name + ")");
            }
            boolean isDir = (mode & Inode.S_IFDIR) != 0;
            XfsDinode di = mp.xfsDialloc(mode, isDir ? 2 : 1);
            XfsInode ip;
            try {
                ip = mp.icache().xfsIget(di.ino, Gfp.GFP_KERNEL);
            } catch (RuntimeException | Error e) {
                mp.xfsDifree(di.ino);
                throw e;
            }
            ip.xfsIlock(XfsInode.XFS_ILOCK_EXCL);
            tp.xfsTransIjoin(ip, XfsInode.XFS_ILOCK_EXCL);
            dp.dinode().entries.put(name, di.ino);
            if (isDir) {
                dp.dinode().nlink++;
                dp.setNlink(dp.dinode().nlink);
            }
            tp.xfsTransLogInode(dp);
            tp.xfsTransLogInode(ip);
            tp.xfsTransCommit();
            return ip;
        }
    }

    @Override
    public int unlink(Inode dir, String name, Inode inode) {
        return xfsRemove((XfsInode) dir, name, (XfsInode) inode);
    }

    @Override
    public int rmdir(Inode dir, String name, Inode inode) {
        XfsInode ip = (XfsInode) inode;
        ip.xfsIlock(XfsInode.XFS_ILOCK_SHARED);
        boolean empty;
        try {
            empty = ip.dinode().entries.isEmpty();
        } finally {
            ip.xfsIunlock(XfsInode.XFS_ILOCK_SHARED);
        }
        return empty ? xfsRemove((XfsInode) dir, name, ip) : -Errno.ENOTEMPTY;
    }

    /** xfs_remove(): drops the name and the link, logging both inodes; the last iput() then frees it. */
    int xfsRemove(XfsInode dp, String name, XfsInode ip) {
        if (mp.forcedShutdown()) {
            return -Errno.EIO;
        }
        try (XfsTrans tp = XfsTrans.xfsTransAlloc(mp)) {
            dp.xfsIlock(XfsInode.XFS_ILOCK_EXCL | XfsInode.XFS_ILOCK_PARENT);
            tp.xfsTransIjoin(dp, XfsInode.XFS_ILOCK_EXCL | XfsInode.XFS_ILOCK_PARENT);
            ip.xfsIlock(XfsInode.XFS_ILOCK_EXCL);
            tp.xfsTransIjoin(ip, XfsInode.XFS_ILOCK_EXCL);
            Long ino = dp.dinode().entries.get(name);
            if (ino == null || ino != ip.ino()) {
                tp.xfsTransCancel();
                return -Errno.ENOENT;
            }
            dp.dinode().entries.remove(name);
            if (ip.isDir()) {
                dp.dinode().nlink--;
                dp.setNlink(dp.dinode().nlink);
                ip.dinode().nlink = 0;
            } else {
                ip.dinode().nlink--;
            }
            ip.setNlink(ip.dinode().nlink);
            tp.xfsTransLogInode(dp);
            tp.xfsTransLogInode(ip);
            tp.xfsTransCommit();
            return 0;
        }
    }

    @Override
    public List<String> readdir(Inode dir) {
        XfsInode dp = (XfsInode) dir;
        dp.xfsIlock(XfsInode.XFS_ILOCK_SHARED);
        try {
            return new ArrayList<>(dp.dinode().entries.keySet());
        } finally {
            dp.xfsIunlock(XfsInode.XFS_ILOCK_SHARED);
        }
    }
}
