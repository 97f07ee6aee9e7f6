package dev.reclaimlab.nfs;

import dev.reclaimlab.fs.FileOperations;
import dev.reclaimlab.fs.Inode;
import dev.reclaimlab.fs.IovIter;
import dev.reclaimlab.fs.ReadWrite;
import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Jiffies;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.locking.Sleep;
import dev.reclaimlab.mm.AddressSpace;
import dev.reclaimlab.mm.FileRaState;
import dev.reclaimlab.mm.Filemap;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.PageFlags;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.sunrpc.RpcReply;


/**
 * fs/nfs/file.c of Linux 3.14: buffered reads through the page cache (a missing page is read with a sync
 * READ), buffered writes under the file's i_mutex into pages that get requests (nfs_write_begin/end,
 * nfs_updatepage()), fsync and flush (write everything, then nfs_commit_inode(FLUSH_SYNC)), and
 * nfs_release_page() in the forms of 3.12-3.17, 3.18 and Trond's later patch, chosen by fixes.
 */
public final class NfsFile implements FileOperations {

    /**
     * 9590544694bec "NFS: avoid deadlocks with loop-back mounted NFS filesystems." (3/5 of NeilBrown's
     * September 2014 series, 3.18): the commit is always sent asynchronously, and a reclaimer that may block
     * waits at most a second (HZ) for PG_private, TASK_KILLABLE; nfs_inode_remove_request() wakes it.
     */
    public static final Fix NFS_RELEASE_PAGE_TIMEOUT = Fix.declare("nfs_release_page_timeout",
            "nfs_release_page() commits asynchronously and waits at most HZ for PG_private",
            "9590544694bec NFS: avoid deadlocks with loop-back mounted NFS filesystems (NeilBrown, 3.18)",
            new KernelVersion(3, 18));
    /**
     * "NFS: avoid waiting at all in nfs_release_page when congested." (4/5, 3.18): no wait while the mount's
     * bdi is write-congested, and a wait that did not free the page marks it congested; a completed commit
     * with little in flight clears it.
     */
    public static final Fix NFS_RELEASE_PAGE_CONGESTED = Fix.declare("nfs_release_page_congested",
            "nfs_release_page() does not wait while the mount is congested, and a failed wait congests it",
            "NFS: avoid waiting at all in nfs_release_page when congested (NeilBrown, 3.18)",
            new KernelVersion(3, 18));
    /**
     * "NFS/SUNRPC: Remove other deadlock-avoidance mechanisms in nfs_release_page()" (5/5, 3.18): the kswapd
     * and PF_FSTRANS tests go (the bound makes them unnecessary); rpciod's half is RpcTask.RPCIOD_NO_FSTRANS.
     */
    public static final Fix NFS_RELEASE_PAGE_NO_FSTRANS = Fix.declare("nfs_release_page_no_fstrans",
            "nfs_release_page() waits whoever the caller is, kswapd and PF_FSTRANS included (still bounded)",
            "NFS/SUNRPC: Remove other deadlock-avoidance mechanisms in nfs_release_page() (NeilBrown, 3.18)",
            new KernelVersion(3, 18));
    /**
     * 4f52b6bb "NFS: Don't call COMMIT in ->releasepage()" (Trond Myklebust; upstream before January 2017,
     * the release, 4.9, not verified): releasepage only tells whether the page is free of requests.
     */
    public static final Fix NFS_RELEASEPAGE_NO_COMMIT = Fix.declare("nfs_releasepage_no_commit",
            "nfs_release_page() never commits or waits: a PagePrivate page is simply not freeable",
            "4f52b6bb NFS: Don't call COMMIT in ->releasepage() (Trond Myklebust)", new KernelVersion(4, 9));

    private final NfsClient nfs;
    private final Kernel kernel;
    private final Filemap fm;
    private final PhysMem mem;

    NfsFile(NfsClient nfs) {
        this.nfs = nfs;
        this.kernel = nfs.kernel();
        this.fm = kernel.mm().filemap();
        this.mem = kernel.mm().mem();
    }

    private NfsInode nfsi(Inode inode, String op) {
        if (!(inode instanceof NfsInode) || inode.sb() != nfs.sb() || inode.mapping() == null) {
            throw new IllegalArgumentException("nfs_file " + op + ": " + inode + " is not a regular file of " + nfs);
        }
        return (NfsInode) inode;
    }

    /**
     * nfs_file_read() -> generic_file_aio_read(): do_generic_file_read() through the file's readahead state,
     * so missing pages come in by nfs_readpages()' async READs of up to rsize (a page readahead could not
     * bring is read by nfs_readpage()).
     */
    @Override
    public long readIter(Inode inode, FileRaState ra, long pos, IovIter to, int len) {
        NfsInode ip = nfsi(inode, "read_iter");
        if (ra == null) {
            throw new IllegalArgumentException("nfs_file read_iter(" + inode + "): no file_ra_state");
        }
        int err = ReadWrite.rwVerifyArea(pos, len);
        if (err < 0) {
            return err;
        }
        if (len == 0) {
            return 0;
        }
        return fm.doGenericFileRead(ip.mapping(), ra, pos, len, (src, n) -> to.copyPageToIter(mem, src, n));
    }

    /**
     * nfs_file_write() -> generic_file_aio_write() under the file's i_mutex: nfs_write_begin() (a partial page
     * not in the cache is read first), the copy, nfs_write_end() -> nfs_updatepage() (the page's request:
     * PagePrivate) and set_page_dirty(), then balance_dirty_pages_ratelimited().
     */
    @Override
    public long writeIter(Inode inode, long pos, IovIter from, int len) {
        NfsInode ip = nfsi(inode, "write_iter");
        int err = ReadWrite.rwVerifyArea(pos, len);
        if (err < 0) {
            return err;
        }
        AddressSpace mapping = ip.mapping();
        ip.inodeLock();
        try {
            int done = 0;
            while (done < len) {
                long p = pos + done;
                long index = p >>> PhysMem.PAGE_SHIFT;
                int off = (int) (p & (PhysMem.PAGE_SIZE - 1));
                int n = Math.min(PhysMem.PAGE_SIZE - off, len - done);
                int pfn = fm.grabCachePageWriteBegin(mapping, index);
                if (pfn < 0) {
                    return done > 0 ? done : pfn;
                }
                try {
                    if (!fm.pageUptodate(pfn) && n != PhysMem.PAGE_SIZE) {
                        if ((index << PhysMem.PAGE_SHIFT) < ip.iSize()) {
                            int e = nfsReadpageSync(ip, pfn, index);
                            if (e < 0) {
                                return done > 0 ? done : e;
                            }
                        } else {
                            mem.memset(kernel.mm().pageAddress(pfn), 0, PhysMem.PAGE_SIZE);
                        }
                    }
                    from.copyPageFromIter(mem, kernel.mm().pageAddress(pfn) + off, n);
                    fm.performWriteMarkAccessed(pfn);
                    fm.setPageUptodate(pfn);
                    if (p + n > ip.iSize()) {
                        ip.iSizeWrite(p + n);
                    }
                    nfs.write().nfsUpdatepage(ip, pfn, index, off + n);
                    fm.setPageDirty(pfn);
                } finally {
                    fm.unlockPage(pfn);
                    fm.putPage(pfn);
                }
                done += n;
                kernel.mm().writeback().balanceDirtyPagesRatelimited(mapping);
            }
            return done;
        } finally {
            ip.inodeUnlock();
        }
    }

    /** nfs_file_fsync(): every dirty page written and waited for, then nfs_commit_inode(FLUSH_SYNC); the error. */
    @Override
    public int fsync(Inode inode) {
        NfsInode ip = nfsi(inode, "fsync");
        int err = kernel.mm().writeback().filemapWriteAndWait(ip.mapping());
        int c = nfs.write().nfsCommitInode(ip, NfsWrite.FLUSH_SYNC);
        int werr = ip.takeWriteError();
        if (werr < 0) {
            return werr;
        }
        return err < 0 ? err : Math.min(c, 0);
    }

    /** nfs_file_flush() -> vfs_fsync(): close-to-open; close() returns the error. */
    @Override
    public int flush(Inode inode) {
        return fsync(inode);
    }

    /**
     * nfs_readpage() as a sync READ in the caller: the locked page is filled (zeros past what the server has),
     * uptodate, and unlocked. 0 or the server's error (the page stays !uptodate).
     */
    int nfsReadpageSync(NfsInode ip, int pfn, long index) {
        nfs.server().reads.incrementAndGet();
        RpcReply r = nfs.server().client().rpcCallSync(NfsProto.NFSPROC3_READ,
                new NfsProto.ReadArgs(ip.fh(), index << PhysMem.PAGE_SHIFT, PhysMem.PAGE_SIZE), null);
        if (r.status() < 0) {
            return r.status();
        }
        long va = kernel.mm().pageAddress(pfn);
        mem.memset(va, 0, PhysMem.PAGE_SIZE);
        byte[] data = r.data();
        if (data != null && data.length > 0) {
            mem.copyIn(va, data, 0, Math.min(data.length, PhysMem.PAGE_SIZE));
        }
        return 0;
    }

    /**
     * nfs_release_page(page, gfp), with the page locked by reclaim. 3.14: only if (gfp & GFP_KERNEL) ==
     * GFP_KERNEL and not PF_FSTRANS, nfs_commit_inode() with FLUSH_SYNC (how 0 for kswapd), which waits
     * TASK_KILLABLE and without a timeout for a COMMIT an nfsd thread has to serve. Then a page still
     * PagePrivate is not freed. The fixes change it as their comments say.
     */
    boolean nfsReleasePage(NfsInode ip, int pfn, int gfp) {
        NfsServer nfss = nfs.server();
        nfss.releasePageCalls.incrementAndGet();
        Task t = Task.current();
        boolean kswapd = (t.flags() & TaskFlags.PF_KSWAPD) != 0;
        boolean fstrans = (t.flags() & TaskFlags.PF_FSTRANS) != 0;
        if (kernel.config().has(NFS_RELEASEPAGE_NO_COMMIT)) {
            return !fm.pagePrivate(pfn);
        }
        if (kernel.config().has(NFS_RELEASE_PAGE_TIMEOUT)) {
            nfss.commitsFromReclaim.incrementAndGet();
            nfs.write().nfsCommitInode(ip, 0);
            boolean mayWait = Gfp.allowsBlocking(gfp);
            if (!kernel.config().has(NFS_RELEASE_PAGE_NO_FSTRANS)) {
                mayWait &= !kswapd && !fstrans;
            }
            boolean congestion = kernel.config().has(NFS_RELEASE_PAGE_CONGESTED);
            if (mayWait && congestion && nfss.bdiWriteCongested()) {
                nfss.releasePageSkippedCongested.incrementAndGet();
                mayWait = false;
            }
            if (mayWait) {
                nfss.releasePageWaits.incrementAndGet();
                if (fm.waitOnPageBitKillableTimeout(pfn, PageFlags.PG_private,
                        kernel.jiffiesToNanos(Jiffies.HZ)) == Sleep.TIMED_OUT) {
                    nfss.releasePageTimeouts.incrementAndGet();
                }
                if (congestion && fm.pagePrivate(pfn)) {
                    nfss.setBdiCongested();
                }
            }
        } else if ((gfp & Gfp.GFP_KERNEL) == Gfp.GFP_KERNEL && !fstrans) {
            int how = kswapd ? 0 : NfsWrite.FLUSH_SYNC;
            nfss.commitsFromReclaim.incrementAndGet();
            boolean nfsd = how == NfsWrite.FLUSH_SYNC && "nfsd".equals(t.comm());
            if (how == NfsWrite.FLUSH_SYNC) {
                nfss.countSyncCommit(t.comm());
            }
            if (nfsd) {
                nfss.nfsdSyncCommitEnter();
            }
            try {
                nfs.write().nfsCommitInode(ip, how);
            } finally {
                if (nfsd) {
                    nfss.nfsdSyncCommitExit();
                }
            }
        }
        // If PagePrivate() is set, then the page is not freeable.
        return !fm.pagePrivate(pfn);
    }
}
