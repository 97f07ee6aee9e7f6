package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.fs.FileOperations;
import dev.reclaimlab.fs.Inode;
import dev.reclaimlab.fs.IovIter;
import dev.reclaimlab.fs.ReadWrite;
import dev.reclaimlab.fs.VfsException;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.mm.AddressSpace;
import dev.reclaimlab.mm.FileRaState;
import dev.reclaimlab.mm.Filemap;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.PhysMem;

/**
 * xfs_file_operations (fs/xfs/xfs_file.c, Linux 4.3): buffered reads under XFS_IOLOCK_SHARED through
 * generic_file_read_iter() (do_generic_file_read(), readahead, xfs_vm_readpages()), buffered writes under
 * XFS_IOLOCK_EXCL, fsync. Whether the read's page-cache fill may enter filesystem reclaim is decided on
 * the readahead path ({@link dev.reclaimlab.mm.Readahead#OBEY_MAPPING_GFP}), with the IOLOCK held.
 */
public final class XfsFile implements FileOperations {
    private final Xfs mp;
    private final Kernel kernel;
    private final Filemap fm;
    private final PhysMem mem;

    XfsFile(Xfs mp) {
        this.mp = mp;
        this.kernel = mp.kernel();
        this.fm = kernel.mm().filemap();
        this.mem = kernel.mm().mem();
    }

    @Override
    public long readIter(Inode inode, FileRaState ra, long pos, IovIter to, int len) {
        XfsInode ip = checkInode(inode, "read_iter");
        checkIter(inode, to, "read_iter");
        if (ra == null) {
            throw new IllegalArgumentException("xfs_file read_iter(" + inode + "): no file_ra_state");
        }
        int err = ReadWrite.rwVerifyArea(pos, len);
        if (err < 0) {
            return err;
        }
        if (mp.forcedShutdown()) {
            return -Errno.EIO;
        }
        return xfsFileIterRead(ip, ra, pos, to, len);
    }

    /** xfs_file_write_iter(): generic_write_checks() first, so nothing is dirtied beyond s_maxbytes. */
    @Override
    public long writeIter(Inode inode, long pos, IovIter from, int len) {
        XfsInode ip = checkInode(inode, "write_iter");
        checkIter(inode, from, "write_iter");
        int err = ReadWrite.rwVerifyArea(pos, len);
        if (err < 0) {
            return err;
        }
        if (mp.forcedShutdown()) {
            return -Errno.EIO;
        }
        long count = ReadWrite.genericWriteChecks(ip, pos, len);
        if (count <= 0) {
            return count;
        }
        return xfsFileWriteIter(ip, pos, from, (int) count);
    }

    @Override
    public int fsync(Inode inode) {
        XfsInode ip = checkInode(inode, "fsync");
        if (mp.forcedShutdown()) {
            return -Errno.EIO;
        }
        return xfsFileFsync(ip);
    }

    /**
     * The file operations are the filesystem's public entry for the loop driver and the VFS: the inode must
     * be a regular file of this mount that someone holds (an open file, a loop device), never one already
     * released to inode reclaim, whose page cache is gone.
     */
    private XfsInode checkInode(Inode inode, String op) {
        if (!(inode instanceof XfsInode) || inode.sb() != mp.sb()) {
            throw new IllegalArgumentException("xfs_file " + op + ": " + inode + " is not an inode of " + mp);
        }
        XfsInode ip = (XfsInode) inode;
        if (!ip.isReg()) {
            throw new VfsException(-Errno.EISDIR, "xfs_file " + op + "(" + inode + ")");
        }
        if (ip.iCount() <= 0 || ip.mapping() == null) {
            throw new IllegalStateException("xfs_file " + op + "(" + inode + "): nobody holds the inode (i_count "
                    + ip.iCount() + "); reach it through an open file");
        }
        return ip;
    }

    private static void checkIter(Inode inode, IovIter iter, String op) {
        if (iter == null) {
            throw new IllegalArgumentException("xfs_file " + op + "(" + inode + "): null iov_iter");
        }
    }

    /**
     * xfs_file_read_iter() -> generic_file_read_iter() -> do_generic_file_read() under XFS_IOLOCK_SHARED:
     * up to {@code len} bytes at {@code pos}, short at EOF. The bytes copied, or a negative errno if none.
     */
    long xfsFileIterRead(XfsInode ip, FileRaState ra, long pos, IovIter to, int len) {
        ip.xfsIlock(XfsInode.XFS_IOLOCK_SHARED);
        try {
            if (len == 0) {
                return 0;
            }
            long ret = fm.doGenericFileRead(ip.mapping(), ra, pos, len, (src, n) -> to.copyPageToIter(mem, src, n));
            // do_generic_file_read() ends in file_accessed() -> touch_atime(), still under XFS_IOLOCK_SHARED.
            ip.touchAtime(mp.relatime());
            return ret;
        } finally {
            ip.xfsIunlock(XfsInode.XFS_IOLOCK_SHARED);
        }
    }

    /**
     * xfs_file_write_iter() -> xfs_file_buffered_aio_write(): under XFS_IOLOCK_EXCL (and i_rwsem), copies
     * into page-cache pages allocated with the mapping's GFP_NOFS, dirties them, throttles in
     * balance_dirty_pages(), and logs the new size, with current->backing_dev_info set to the mapping's bdi
     * meanwhile (3.14 and 4.3 alike: reclaim's current_may_throttle() reads it). Returns the bytes written or
     * a negative errno.
     */
    long xfsFileWriteIter(XfsInode ip, long pos, IovIter from, int len) {
        ip.xfsIlock(XfsInode.XFS_IOLOCK_EXCL);
        Task current = kernel.currentTask();
        try {
            AddressSpace mapping = ip.mapping();
            current.setBackingDevInfo(mapping.bdi());
            fileUpdateTime(ip);
            XfsAops aops = (XfsAops) mapping.aops();
            int done = 0;
            int err = 0;
            while (done < len) {
                long p = pos + done;
                long index = p >>> PhysMem.PAGE_SHIFT;
                int pageOff = (int) (p & (PhysMem.PAGE_SIZE - 1));
                int n = Math.min(PhysMem.PAGE_SIZE - pageOff, len - done);
                int page = fm.grabCachePageWriteBegin(mapping, index);
                if (page < 0) {
                    err = page;
                    break;
                }
                try {
                    if (!fm.pageUptodate(page) && n != PhysMem.PAGE_SIZE) {
                        err = aops.xfsReadBlockSync(page, index);
                        if (err < 0) {
                            break;
                        }
                    }
                    from.copyPageFromIter(mem, kernel.mm().pageAddress(page) + pageOff, n);
                    fm.performWriteMarkAccessed(page);
                    fm.setPageUptodate(page);
                    fm.setPageDirty(page);
                    if (p + n > ip.iSize()) {
                        ip.iSizeWrite(p + n);
                    }
                } finally {
                    fm.unlockPage(page);
                    fm.putPage(page);
                }
                done += n;
                kernel.mm().writeback().balanceDirtyPagesRatelimited(mapping);
            }
            if (ip.iSize() > ip.dinode().size) {
                xfsSetfilesize(ip);
            }
            return done > 0 ? done : err;
        } finally {
            current.setBackingDevInfo(null);
            ip.xfsIunlock(XfsInode.XFS_IOLOCK_EXCL);
        }
    }

    /**
     * xfs_file_aio_write_checks()' file_update_time(): mtime and ctime become now if they are not. Departure
     * (4.3 logs them in xfs_vn_update_time()'s own transaction): they are set in core and in the dinode under
     * the ILOCK without one, so no XFS write path gains a transaction; a write that grows the file logs them
     * with its size (xfs_setfilesize()).
     */
    private static void fileUpdateTime(XfsInode ip) {
        long now = ip.currentFsTime();
        if (ip.iMtime() == now && ip.iCtime() == now) {
            return;
        }
        ip.xfsIlock(XfsInode.XFS_ILOCK_EXCL);
        try {
            ip.setTimes(Inode.S_MTIME | Inode.S_CTIME, now);
            ip.xfsSyncTimes();
        } finally {
            ip.xfsIunlock(XfsInode.XFS_ILOCK_EXCL);
        }
    }

    /** xfs_setfilesize(): logs the in-core size as di_size, pinning the inode until the log is forced. */
    void xfsSetfilesize(XfsInode ip) {
        // The kernel logs di_size at IO completion, in a handle xfs_vm_writepage() allocated in writeback
        // (xfs_setfilesize_trans_alloc(); GFP_KERNEL in 3.14 and 4.3, XFS_TRANS_NOFS in 5.3); the emulator logs
        // it at the end of the write, so the handle is NOFS here: the write path gains no __GFP_FS allocation.
        try (XfsTrans tp = XfsTrans.xfsTransAlloc(mp, Gfp.GFP_NOFS)) {
            ip.xfsIlock(XfsInode.XFS_ILOCK_EXCL);
            tp.xfsTransIjoin(ip, XfsInode.XFS_ILOCK_EXCL);
            ip.dinode().size = Math.max(ip.dinode().size, ip.iSize());
            tp.xfsTransLogInode(ip);
            tp.xfsTransCommit();
        }
    }

    /**
     * xfs_file_fsync(): writes and waits for the data, then forces the log if the inode is pinned.
     * Returns the first writeback error since the last fsync, -EIO if a dirty page could not be written
     * at all (never success for bytes that are not on the device), or the log's error.
     */
    int xfsFileFsync(XfsInode ip) {
        int wbErr = kernel.mm().writeback().filemapWriteAndWait(ip.mapping());
        int err = ip.takeWbErr();
        if (err == 0) {
            err = wbErr;
        }
        if (ip.pincount() > 0) {
            int logErr = mp.log().xfsLogForce();
            if (err == 0) {
                err = logErr;
            }
        }
        return err;
    }
}
