package dev.reclaimlab.nfs;

import dev.reclaimlab.fs.Inode;
import dev.reclaimlab.fs.SuperBlock;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.BitWord;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.SpinLock;
import dev.reclaimlab.locking.WakerSink;
import dev.reclaimlab.sunrpc.RpcTask;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * struct nfs_inode (include/linux/nfs_fs.h, Linux 3.14): the server's file handle, the flags word
 * (NFS_INO_COMMIT), the requests of its pages (npages) and the commit list (commit_info: ncommit, rpcs_out),
 * all under i_lock, and the first write error since the last fsync.
 */
public final class NfsInode extends Inode implements BitWord {
    /** NFS_INO_COMMIT: a COMMIT is being sent or awaited (nfs_commit_set_lock()). */
    public static final int NFS_INO_COMMIT = 7;
    private static final LockClassKey I_LOCK_KEY = new LockClassKey("&(&inode->i_lock)->rlock");

    private final long fh;
    final long kmemAddr;
    final SpinLock iLock = new SpinLock("i_lock", I_LOCK_KEY);
    private final AtomicInteger flags = new AtomicInteger();
    /** Requests by page index (page_private(page) in the kernel). Under i_lock. */
    final Map<Long, NfsPage> requests = new HashMap<>();
    /** The commit list. Under i_lock. */
    final List<NfsPage> commitList = new ArrayList<>();
    final AtomicInteger rpcsOut = new AtomicInteger();
    /** Who owns NFS_INO_COMMIT now: the task taking it, then its COMMIT's rpc_task. */
    volatile Object commitOwner;
    private volatile int writeError;
    /** The server's mtime as last seen in a reply (the cached i_mtime). */
    private final AtomicLong attrMtime = new AtomicLong(Long.MIN_VALUE);
    /** nfsi->cache_change_attribute: bumped when a directory is seen to have changed on the server. */
    private final AtomicLong cacheChangeAttribute = new AtomicLong();

    NfsInode(SuperBlock sb, long fh, int mode, long kmemAddr) {
        super(sb, fh, mode);
        this.fh = fh;
        this.kmemAddr = kmemAddr;
    }

    /** inode_init_always()'s mapping with the default gfp (GFP_HIGHUSER_MOVABLE: NFS does not narrow it). */
    void initMappingNfs(NfsAops aops) {
        initMapping(aops, dev.reclaimlab.mm.Gfp.GFP_HIGHUSER_MOVABLE);
    }

    /**
     * nfs_refresh_inode() for the mtime of {@code attr} (nfs_update_inode()): a newer mtime is taken, and for
     * a directory nfs_force_lookup_revalidate() bumps cache_change_attribute, so every dentry in it checked
     * at the old value is looked up again before it is trusted. An older reply changes nothing (the
     * attribute generation counter's job in the kernel).
     */
    void nfsRefreshMtime(long mtime) {
        long old = attrMtime.getAndAccumulate(mtime, Math::max);
        if (mtime > old && old != Long.MIN_VALUE && isDir()) {
            cacheChangeAttribute.incrementAndGet();
        }
    }

    /** nfs_save_change_attribute(). */
    long cacheChangeAttribute() {
        return cacheChangeAttribute.get();
    }

    /** The server's file handle. */
    public long fh() {
        return fh;
    }

    /** nfsi->npages: pages with a request. */
    public int npages() {
        iLock.spinLock();
        try {
            return requests.size();
        } finally {
            iLock.spinUnlock();
        }
    }

    /** nfsi->commit_info.ncommit: requests on the commit list. */
    public int ncommit() {
        iLock.spinLock();
        try {
            return commitList.size();
        } finally {
            iLock.spinUnlock();
        }
    }

    /** nfs_context_set_write_error(): kept for the next fsync or close. */
    void setWriteError(int err) {
        if (writeError == 0) {
            writeError = err;
        }
    }

    /** The error since the last fsync, cleared. */
    int takeWriteError() {
        int e = writeError;
        writeError = 0;
        return e;
    }

    @Override
    public boolean testBit(int bit) {
        return (flags.get() & (1 << bit)) != 0;
    }

    @Override
    public boolean testAndSetBit(int bit) {
        return (flags.getAndUpdate(x -> x | (1 << bit)) & (1 << bit)) != 0;
    }

    void clearBit(int bit) {
        flags.getAndUpdate(x -> x & ~(1 << bit));
    }

    @Override
    public String bitName(int bit) {
        return (bit == NFS_INO_COMMIT ? "NFS_INO_COMMIT" : "bit " + bit) + " of nfs inode " + sb().id() + "/" + fh;
    }

    /** Who clears NFS_INO_COMMIT: its COMMIT's rpc_task (and so the nfsd thread owing the reply), or its taker. */
    @Override
    public void bitWakers(int bit, WakerSink out) {
        Object o = commitOwner;
        if (o instanceof RpcTask) {
            ((RpcTask) o).wakers(out);
        } else if (o instanceof Task) {
            out.add((Task) o);
        }
    }

    @Override
    public String toString() {
        return "nfs inode " + fh + " on " + sb().id();
    }
}
