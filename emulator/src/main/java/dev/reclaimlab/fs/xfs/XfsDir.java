package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.fs.DirActor;
import dev.reclaimlab.fs.Inode;
import dev.reclaimlab.fs.InodeOperations;
import dev.reclaimlab.fs.VfsException;
import dev.reclaimlab.mm.Gfp;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * xfs_dir_inode_operations (fs/xfs/xfs_iops.c, xfs_inode.c, xfs_dir2_readdir.c; Linux 4.3 and 5.3 alike):
 * names in directories. The entries live in the dinode; lookup and readdir read them from directory data
 * blocks in the buffer cache ({@link XfsBuf}) under XFS_ILOCK_SHARED, allocating a buffer on a miss; every
 * change is a transaction that locks the directory's ILOCK (XFS_ILOCK_PARENT) before the child's, reads
 * the directory block and logs both inodes and the rewritten blocks.
 */
final class XfsDir implements InodeOperations {
    private final Xfs mp;

    XfsDir(Xfs mp) {
        this.mp = mp;
    }

    /**
     * xfs_vn_lookup() -> xfs_lookup(): xfs_dir_lookup() reads the directory's blocks under
     * XFS_ILOCK_SHARED (xfs_ilock_data_map_shared()), then xfs_iget() runs without it.
     */
    @Override
    public Inode lookup(Inode dir, String name) {
        XfsInode dp = (XfsInode) dir;
        long ino = -1;
        dp.xfsIlock(XfsInode.XFS_ILOCK_SHARED);
        try {
            int n = XfsDir2Data.nblocks(dp.dinode().entries);
            for (int k = 0; k < n && ino < 0; k++) {
                XfsBuf bp = xfsDir3DataRead(dp, k);
                try {
                    ino = XfsDir2Data.lookup(XfsBuf.mem(mp), bp.addr, name);
                } finally {
                    mp.bufCache().xfsBufRelse(bp);
                }
            }
        } finally {
            dp.xfsIunlock(XfsInode.XFS_ILOCK_SHARED);
        }
        return ino < 0 ? null : mp.icache().xfsIget(ino, Gfp.GFP_KERNEL);
    }

    /**
     * xfs_dir3_data_read() / xfs_dir3_block_read(): block {@code dablk} of {@code dp} through the buffer
     * cache, laid out from the entries on a miss. The caller holds dp's ILOCK.
     */
    XfsBuf xfsDir3DataRead(XfsInode dp, int dablk) {
        return mp.bufCache().xfsBufRead(XfsDir2Data.key(dp.ino(), dablk),
                addr -> XfsDir2Data.fill(XfsBuf.mem(mp), addr, dp.dinode().entries, dablk));
    }

    /**
     * xfs_dir2_data_log_entry() and friends: after a change under dp's ILOCK_EXCL, the directory's cached
     * blocks are rewritten from the entries, and blocks beyond its new end are staled.
     */
    private void xfsDir2DataLog(XfsInode dp) {
        int n = XfsDir2Data.nblocks(dp.dinode().entries);
        long ino = dp.ino();
        for (XfsBuf bp : mp.bufCache().cachedOf(key -> XfsDir2Data.ino(key) == ino)) {
            try {
                int dablk = XfsDir2Data.dablk(bp.key);
                if (dablk < n) {
                    XfsDir2Data.fill(XfsBuf.mem(mp), bp.addr, dp.dinode().entries, dablk);
                } else {
                    mp.bufCache().xfsBufStale(bp);
                }
            } finally {
                mp.bufCache().xfsBufRelse(bp);
            }
        }
    }

    /** The removed directory's blocks are gone: xfs_dir2_shrink_inode() stales them. */
    private void xfsDirStaleAll(XfsInode dp) {
        long ino = dp.ino();
        for (XfsBuf bp : mp.bufCache().cachedOf(key -> XfsDir2Data.ino(key) == ino)) {
            mp.bufCache().xfsBufStale(bp);
            mp.bufCache().xfsBufRelse(bp);
        }
    }

    /** xfs_dir_createname() / xfs_dir_removename() read the block they change, in the transaction. */
    private void readForChange(XfsInode dp) {
        mp.bufCache().xfsBufRelse(xfsDir3DataRead(dp, 0));
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
            readForChange(dp);
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
            // xfs_ialloc(): a new inode's atime, mtime and ctime are all current_fs_time().
            ip.setTimes(Inode.S_ATIME | Inode.S_MTIME | Inode.S_CTIME, ip.currentFsTime());
            ip.xfsSyncTimes();
            dp.dinode().entries.put(name, di.ino);
            xfsDir2DataLog(dp);
            xfsTransIchgtime(dp);
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

    /** xfs_trans_ichgtime(tp, dp, XFS_ICHGTIME_MOD | XFS_ICHGTIME_CHG): the directory's mtime and ctime. */
    private void xfsTransIchgtime(XfsInode dp) {
        dp.touchMtime();
        dp.setTimes(Inode.S_CTIME, dp.iMtime());
        dp.xfsSyncTimes();
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
            readForChange(dp);
            dp.dinode().entries.remove(name);
            xfsDir2DataLog(dp);
            xfsTransIchgtime(dp);
            if (ip.isDir()) {
                xfsDirStaleAll(ip);
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

    /**
     * Every name of the directory, in order: {@link #iterate} from the start.
     */
    @Override
    public List<String> readdir(Inode dir) {
        List<String> out = new ArrayList<>();
        iterate(dir, null, (name, ino) -> out.add(name));
        return out;
    }

    /**
     * xfs_file_readdir() -> xfs_readdir() -> xfs_dir2_leaf_getdents() / xfs_dir2_block_getdents(): each
     * directory block is read under XFS_ILOCK_SHARED (xfs_ilock_data_map_shared()), which is dropped before
     * the block's entries go to the actor (dir_emit()), which may fault on user memory.
     */
    @Override
    public void iterate(Inode dir, String after, DirActor actor) {
        XfsInode dp = (XfsInode) dir;
        for (int k = 0; ; k++) {
            List<Map.Entry<String, Long>> entries;
            dp.xfsIlock(XfsInode.XFS_ILOCK_SHARED);
            try {
                if (k >= XfsDir2Data.nblocks(dp.dinode().entries)) {
                    return;
                }
                XfsBuf bp = xfsDir3DataRead(dp, k);
                try {
                    entries = XfsDir2Data.entries(XfsBuf.mem(mp), bp.addr);
                } finally {
                    mp.bufCache().xfsBufRelse(bp);
                }
            } finally {
                dp.xfsIunlock(XfsInode.XFS_ILOCK_SHARED);
            }
            for (Map.Entry<String, Long> e : entries) {
                if ((after == null || e.getKey().compareTo(after) > 0) && !actor.emit(e.getKey(), e.getValue())) {
                    return;
                }
            }
        }
    }
}
