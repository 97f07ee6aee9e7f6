package dev.reclaimlab.nfs;

import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.BitWaitTable;
import dev.reclaimlab.locking.Sleep;
import dev.reclaimlab.mm.Filemap;
import dev.reclaimlab.mm.Mm;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.mm.VmStatItem;
import dev.reclaimlab.mm.WritebackControl;
import dev.reclaimlab.sunrpc.RpcCallOps;
import dev.reclaimlab.sunrpc.RpcReply;
import dev.reclaimlab.sunrpc.RpcTask;

import java.util.ArrayList;
import java.util.List;

/**
 * fs/nfs/write.c of Linux 3.14: requests (nfs_inode_add_request(), nfs_inode_remove_request()), writeback
 * (nfs_writepages() and nfs_writepage() through an {@link NfsPageio} descriptor: WRITEs of up to wsize,
 * async on rpciod, each page under writeback until the reply's release), the commit list
 * (nfs_mark_request_commit(): PG_CLEAN, NR_UNSTABLE_NFS, I_DIRTY_DATASYNC) and nfs_commit_inode(): take
 * NFS_INO_COMMIT (or wait for it, killable, with FLUSH_SYNC), send one async COMMIT for every request on the
 * list, and with FLUSH_SYNC wait for the rpc_task and then for the bit, both TASK_KILLABLE and without a
 * timeout. nfs_commit_release_pages() drops each request whose verifier matches (PagePrivate clears) and then
 * NFS_INO_COMMIT.
 */
final class NfsWrite {
    /** FLUSH_SYNC: wait for the commit. */
    static final int FLUSH_SYNC = 1;

    private final NfsClient nfs;
    private final Kernel kernel;
    private final Mm mm;
    private final Filemap fm;
    private final BitWaitTable bits = new BitWaitTable(6);

    NfsWrite(NfsClient nfs) {
        this.nfs = nfs;
        this.kernel = nfs.kernel();
        this.mm = kernel.mm();
        this.fm = mm.filemap();
    }

    /** nfs_updatepage() -> nfs_setup_write_request(): the locked page gets a request (PagePrivate). */
    void nfsUpdatepage(NfsInode inode, int pfn, long index, int bytes) {
        inode.iLock.spinLock();
        try {
            NfsPage req = inode.requests.get(index);
            if (req == null) {
                req = new NfsPage(pfn, index);
                inode.requests.put(index, req);
                fm.setPagePrivate(pfn);
            } else if (req.onCommitList) {
                // nfs_clear_request_commit(): written again before its COMMIT; it goes out as a new WRITE.
                clearRequestCommitLocked(inode, req);
            }
            req.bytes = Math.max(req.bytes, bytes);
        } finally {
            inode.iLock.spinUnlock();
        }
    }

    private void clearRequestCommitLocked(NfsInode inode, NfsPage req) {
        req.onCommitList = false;
        inode.commitList.remove(req);
        mm.decZonePageState(req.pfn, VmStatItem.NR_UNSTABLE_NFS);
        nfs.server().bdi().decBdiStatReclaimable();
    }

    /** nfs_inode_remove_request(): the page is freeable again; 3.18 wakes a waiter on PG_private. */
    private void nfsInodeRemoveRequest(NfsInode inode, NfsPage req) {
        inode.iLock.spinLock();
        try {
            if (inode.requests.get(req.index) != req) {
                return;
            }
            inode.requests.remove(req.index);
            if (req.onCommitList) {
                clearRequestCommitLocked(inode, req);
            }
            if (fm.pageMapping(req.pfn) == inode.mapping()) {
                fm.clearPagePrivate(req.pfn);
            }
        } finally {
            inode.iLock.spinUnlock();
        }
        if (kernel.config().has(NfsFile.NFS_RELEASE_PAGE_TIMEOUT)) {
            fm.wakeUpPage(req.pfn);
        }
    }

    /** nfs_writepage() -> nfs_writepage_locked(): the one page through a descriptor of its own. */
    int nfsWritepage(NfsInode inode, int pfn, WritebackControl wbc) {
        NfsPageio pgio = new NfsPageio(this, inode, nfs.server().wsize(), wbc);
        int res = nfsPageAsyncFlush(pgio, inode, pfn);
        pgio.complete();
        return res;
    }

    /**
     * nfs_writepages(): write_cache_pages() with nfs_writepages_callback(), every page into one descriptor,
     * which sends WRITEs of up to wsize as they fill, then nfs_pageio_complete(). Returns the pages left.
     */
    long nfsWritepages(NfsInode inode, WritebackControl wbc) {
        NfsPageio pgio = new NfsPageio(this, inode, nfs.server().wsize(), wbc);
        try {
            return mm.writeback().writeCachePages(inode.mapping(), wbc,
                    (mapping, pfn, w) -> nfsPageAsyncFlush(pgio, inode, pfn));
        } finally {
            pgio.complete();
        }
    }

    /**
     * nfs_page_async_flush(): the locked page, its dirty bit cleared by the caller, gets (or keeps) its request,
     * goes under writeback and is unlocked; its bytes go into the descriptor, which sends them in a WRITE.
     */
    private int nfsPageAsyncFlush(NfsPageio pgio, NfsInode inode, int pfn) {
        long index = fm.pageIndex(pfn);
        NfsPage req;
        inode.iLock.spinLock();
        try {
            req = inode.requests.get(index);
            if (req == null) {
                req = new NfsPage(pfn, index);
                req.bytes = PhysMem.PAGE_SIZE;
                inode.requests.put(index, req);
                fm.setPagePrivate(pfn);
            } else if (req.onCommitList) {
                clearRequestCommitLocked(inode, req);
            }
            req.busy = true;
        } finally {
            inode.iLock.spinUnlock();
        }
        long pos = index << PhysMem.PAGE_SHIFT;
        int len = (int) Math.max(0, Math.min(PhysMem.PAGE_SIZE, inode.iSize() - pos));
        nfsSetPageWriteback(pfn);
        fm.unlockPage(pfn);
        pgio.add(new NfsPageio.Item(req, pfn, len));
        return 0;
    }

    /**
     * nfs_flush_one() -> nfs_initiate_write(): one async WRITE on rpciod for the descriptor's requests, whose
     * pages stay under writeback until the reply's release completes each of them. The bytes are what the
     * pages hold now, as the kernel's xdr encoding reads them from the pages under writeback (a page redirtied
     * meanwhile is written again later).
     */
    void sendWrite(NfsInode inode, List<NfsPageio.Item> items, int len, int stable) {
        byte[] data = new byte[len];
        int off = 0;
        for (NfsPageio.Item it : items) {
            mm.mem().copyOut(mm.pageAddress(it.pfn()), data, off, it.len());
            off += it.len();
        }
        long pos = items.get(0).req().index << PhysMem.PAGE_SHIFT;
        nfs.server().writes.incrementAndGet();
        if (stable != NfsProto.NFS_UNSTABLE) {
            nfs.server().stableWrites.incrementAndGet();
        }
        RpcTask t = nfs.server().client().rpcNewTask(nfs.server().client().newCall(NfsProto.NFSPROC3_WRITE,
                new NfsProto.WriteArgs(inode.fh(), pos, len, stable), data),
                RpcCallOps.onRelease(task -> nfsWriteDone(inode, items, task)), null, true);
        for (NfsPageio.Item it : items) {
            fm.setPageWritebackOwedBy(it.pfn(), t);
        }
        t.rpcExecute();
        t.rpcPutTask();
    }

    /**
     * nfs_write_completion() of each request the WRITE carried. A reply that wrote fewer bytes than sent fails
     * the requests past its count with -EIO, where 3.14's nfs_writeback_result() resends the rest.
     */
    private void nfsWriteDone(NfsInode inode, List<NfsPageio.Item> items, RpcTask task) {
        long written = Long.MAX_VALUE;
        if (task.status() >= 0) {
            written = ((NfsProto.WriteRes) task.reply().result()).count();
        }
        long off = 0;
        for (NfsPageio.Item it : items) {
            off += it.len();
            nfsWriteCompletion(inode, it.req(), task, off > written ? -Errno.EIO : 0);
        }
    }

    /** nfs_set_page_writeback(): past NFS_CONGESTION_ON_THRESH pages in flight the mount is congested. */
    private void nfsSetPageWriteback(int pfn) {
        fm.setPageWriteback(pfn, null);
        if (nfs.server().writeback.incrementAndGet() > nfs.server().congestionOnThresh()) {
            nfs.server().setBdiCongested();
        }
    }

    /** nfs_end_page_writeback(): below the OFF threshold the congestion clears. */
    private void nfsEndPageWriteback(int pfn) {
        fm.endPageWriteback(pfn);
        if (nfs.server().writeback.decrementAndGet() < nfs.server().congestionOffThresh()) {
            nfs.server().clearBdiCongested();
        }
    }

    /**
     * nfs_write_completion(): an UNSTABLE reply puts the request on the commit list (clean, PagePrivate,
     * NR_UNSTABLE_NFS, the inode I_DIRTY_DATASYNC); FILE_SYNC or an error drops it; then end_page_writeback.
     */
    private void nfsWriteCompletion(NfsInode inode, NfsPage req, RpcTask task, int shortWrite) {
        RpcReply r = task.reply();
        int status = task.status() < 0 ? task.status() : shortWrite;
        boolean toCommit = false;
        if (status < 0) {
            inode.setWriteError(status);
            req.busy = false;
            nfsInodeRemoveRequest(inode, req);
        } else {
            NfsProto.WriteRes res = (NfsProto.WriteRes) r.result();
            inode.iLock.spinLock();
            try {
                req.busy = false;
                if (res.committed() == NfsProto.NFS_UNSTABLE && inode.requests.get(req.index) == req
                        && !fm.pageDirty(req.pfn)) {
                    req.verf = res.verf();
                    req.onCommitList = true;
                    inode.commitList.add(req);
                    mm.incZonePageState(req.pfn, VmStatItem.NR_UNSTABLE_NFS);
                    nfs.server().bdi().incBdiStatReclaimable();
                    toCommit = true;
                }
            } finally {
                inode.iLock.spinUnlock();
            }
            if (!toCommit && res.committed() != NfsProto.NFS_UNSTABLE && !fm.pageDirty(req.pfn)) {
                nfs.server().committedBytes.addAndGet(req.bytes);
                nfsInodeRemoveRequest(inode, req);
            }
        }
        if (toCommit) {
            mm.writeback().markInodeDirty(inode.mapping());
        }
        nfsEndPageWriteback(req.pfn);
    }

    /**
     * nfs_commit_inode(): see the class comment. Returns the requests committed, 0 when there was nothing to
     * do (or the lock was busy without FLUSH_SYNC), or -EINTR if a killable wait was ended.
     */
    int nfsCommitInode(NfsInode inode, int how) {
        boolean mayWait = (how & FLUSH_SYNC) != 0;
        Task t = Task.current();
        int res = nfsCommitSetLock(t, inode, mayWait);
        if (res <= 0) {
            mm.writeback().markInodeDirty(inode.mapping());
            return res;
        }
        List<NfsPage> head = nfsScanCommit(inode);
        if (head.isEmpty()) {
            nfsCommitClearLock(inode);
            return 0;
        }
        nfsCommitList(inode, head, how);
        if (!mayWait) {
            return head.size();
        }
        if (bits.waitOnBit(t, inode.fh(), inode, NfsInode.NFS_INO_COMMIT, Task.TASK_KILLABLE, -1) == Sleep.KILLED) {
            return -Errno.EINTR;
        }
        return head.size();
    }

    /** nfs_commit_set_lock(): 1 when taken, 0 when busy and not waiting, -EINTR when killed waiting. */
    private int nfsCommitSetLock(Task t, NfsInode inode, boolean mayWait) {
        if (!inode.testAndSetBit(NfsInode.NFS_INO_COMMIT)) {
            inode.commitOwner = t;
            return 1;
        }
        if (!mayWait) {
            return 0;
        }
        // out_of_line_wait_on_bit_lock(NFS_INO_COMMIT, nfs_wait_bit_killable, TASK_KILLABLE).
        if (bits.waitOnBitLock(t, inode.fh(), inode, NfsInode.NFS_INO_COMMIT, Task.TASK_KILLABLE, -1) == Sleep.KILLED) {
            return -Errno.EINTR;
        }
        inode.commitOwner = t;
        return 1;
    }

    /** nfs_commit_clear_lock(): clear_bit, smp_mb__after_clear_bit(), wake_up_bit(). */
    private void nfsCommitClearLock(NfsInode inode) {
        inode.commitOwner = null;
        inode.clearBit(NfsInode.NFS_INO_COMMIT);
        bits.wakeUpBit(inode.fh());
    }

    /** nfs_scan_commit(): every request on the commit list moves to the commit being built. */
    private List<NfsPage> nfsScanCommit(NfsInode inode) {
        inode.iLock.spinLock();
        try {
            List<NfsPage> head = new ArrayList<>();
            for (NfsPage req : inode.commitList) {
                if (!req.committing) {
                    req.committing = true;
                    head.add(req);
                }
            }
            return head;
        } finally {
            inode.iLock.spinUnlock();
        }
    }

    /**
     * nfs_commit_list() -> nfs_initiate_commit(): one async COMMIT on rpciod; with FLUSH_SYNC the caller waits
     * for the task (rpc_wait_for_completion_task(), TASK_KILLABLE) and its put is the final one, so the
     * release runs here; otherwise rpciod's final put hands the release to nfsiod.
     */
    private void nfsCommitList(NfsInode inode, List<NfsPage> head, int how) {
        inode.rpcsOut.incrementAndGet();
        nfs.server().commits.incrementAndGet();
        RpcTask task = nfs.server().client().rpcNewTask(nfs.server().client().newCall(NfsProto.NFSPROC3_COMMIT,
                new NfsProto.CommitArgs(inode.fh(), 0, 0), null),
                RpcCallOps.onRelease(t -> nfsCommitReleasePages(inode, head, t)), null, true);
        inode.commitOwner = task;
        task.rpcExecute();
        if ((how & FLUSH_SYNC) != 0) {
            task.rpcWaitForCompletionTask();
        }
        task.rpcPutTask();
    }

    /**
     * nfs_commit_release_pages(): per request, NR_UNSTABLE_NFS goes down; an error is kept for fsync and the
     * request dropped; a matching verifier drops it (PagePrivate clears); a changed one (the server
     * rebooted) dirties the page for another WRITE. Then NFS_INO_COMMIT, and (3.18's 4/5) the mount's
     * congestion if little is in flight.
     */
    private void nfsCommitReleasePages(NfsInode inode, List<NfsPage> head, RpcTask task) {
        int status = task.status();
        long verf = status == 0 ? ((NfsProto.CommitRes) task.reply().result()).verf() : 0;
        for (NfsPage req : head) {
            inode.iLock.spinLock();
            try {
                req.committing = false;
                if (req.onCommitList) {
                    clearRequestCommitLocked(inode, req);
                }
            } finally {
                inode.iLock.spinUnlock();
            }
            if (status < 0) {
                inode.setWriteError(status);
                nfsInodeRemoveRequest(inode, req);
            } else if (req.verf == verf) {
                nfs.server().committedBytes.addAndGet(req.bytes);
                nfsInodeRemoveRequest(inode, req);
            } else if (fm.pageMapping(req.pfn) == inode.mapping()) {
                fm.setPageDirty(req.pfn);
            }
        }
        if (inode.rpcsOut.decrementAndGet() == 0) {
            nfsCommitClearLock(inode);
        }
        if (kernel.config().has(NfsFile.NFS_RELEASE_PAGE_CONGESTED)
                && nfs.server().writeback.get() < nfs.server().congestionOffThresh()) {
            nfs.server().clearBdiCongested();
        }
    }

    /**
     * nfs_write_inode() -> nfs_commit_unstable_pages(): the flusher's commit, async, once more than half the
     * inode's requests wait for one (WB_SYNC_NONE: the inode is redirtied instead); every time for
     * WB_SYNC_ALL. An async commit's requests count against the flusher's wbc->nr_to_write.
     */
    void nfsWriteInode(NfsInode inode, WritebackControl wbc) {
        int ncommit = inode.ncommit();
        if (ncommit == 0) {
            return;
        }
        boolean none = wbc.syncMode == WritebackControl.SyncMode.WB_SYNC_NONE;
        if (none && ncommit <= inode.npages() >> 1) {
            mm.writeback().markInodeDirty(inode.mapping());
            return;
        }
        int ret = nfsCommitInode(inode, none ? 0 : FLUSH_SYNC);
        if (ret >= 0 && none) {
            wbc.nrToWrite = Math.max(0, wbc.nrToWrite - ret);
        }
    }

    /** nfs_invalidate_page() -> nfs_wb_page_cancel(): truncation drops the page's request. */
    void nfsInvalidatePage(NfsInode inode, int pfn) {
        NfsPage req;
        inode.iLock.spinLock();
        try {
            req = inode.requests.get(fm.pageIndex(pfn));
        } finally {
            inode.iLock.spinUnlock();
        }
        if (req != null && req.pfn == pfn) {
            nfsInodeRemoveRequest(inode, req);
        }
    }
}
