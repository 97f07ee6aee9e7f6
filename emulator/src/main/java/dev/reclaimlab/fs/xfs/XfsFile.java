package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.fs.FileOperations;
import dev.reclaimlab.fs.Inode;
import dev.reclaimlab.fs.IovIter;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.mm.AddressSpace;
import dev.reclaimlab.mm.FileRaState;
import dev.reclaimlab.mm.Filemap;
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
        return xfsFileIterRead((XfsInode) inode, ra, pos, to, len);
    }

    @Override
    public long writeIter(Inode inode, long pos, IovIter from, int len) {
        return xfsFileWriteIter((XfsInode) inode, pos, from, len);
    }

    @Override
    public int fsync(Inode inode) {
        return xfsFileFsync((XfsInode) inode);
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
            return fm.doGenericFileRead(ip.mapping(), ra, pos, len, (src, n) -> to.copyPageToIter(mem, src, n));
        } finally {
            ip.xfsIunlock(XfsInode.XFS_IOLOCK_SHARED);
        }
    }

    /**
     * xfs_file_write_iter() -> xfs_file_buffered_aio_write(): under XFS_IOLOCK_EXCL (and i_rwsem), copies
     * into page-cache pages allocated with the mapping's GFP_NOFS, dirties them, throttles in
     * balance_dirty_pages(), and logs the new size. Returns the bytes written or a negative errno.
     */
    long xfsFileWriteIter(XfsInode ip, long pos, IovIter from, int len) {
        ip.xfsIlock(XfsInode.XFS_IOLOCK_EXCL);
        try {
            AddressSpace mapping = ip.mapping();
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
            ip.xfsIunlock(XfsInode.XFS_IOLOCK_EXCL);
        }
    }

    /** xfs_setfilesize(): logs the in-core size as di_size, pinning the inode until the log is forced. */
    void xfsSetfilesize(XfsInode ip) {
        XfsTrans tp = XfsTrans.xfsTransAlloc(mp);
        ip.xfsIlock(XfsInode.XFS_ILOCK_EXCL);
        tp.xfsTransIjoin(ip, XfsInode.XFS_ILOCK_EXCL);
        ip.dinode().size = Math.max(ip.dinode().size, ip.iSize());
        tp.xfsTransLogInode(ip);
        tp.xfsTransCommit();
    }

    /**
     * xfs_file_fsync(): writes and waits for the data, then forces the log if the inode is pinned.
     * Returns the first writeback error since the last fsync, or the log's.
     */
    int xfsFileFsync(XfsInode ip) {
        kernel.mm().writeback().filemapWriteAndWait(ip.mapping());
        int err = ip.takeWbErr();
        if (ip.pincount() > 0) {
            int logErr = mp.log().xfsLogForce();
            if (err == 0) {
                err = logErr;
            }
        }
        return err;
    }
}
