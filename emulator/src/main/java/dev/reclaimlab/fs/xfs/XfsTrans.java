package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.KmemCache;
import dev.reclaimlab.mm.SchedMm;

import java.util.ArrayList;
import java.util.List;

/**
 * struct xfs_trans (fs/xfs/xfs_trans.c): one metadata change. It runs as a NOFS section (the 2015
 * PF_FSTRANS), so nothing allocated inside can recurse into filesystem reclaim while it holds ILOCKs.
 * The handle itself is allocated before that section begins, from xfs_trans_zone with KM_SLEEP: in 3.14 and
 * 4.3 _xfs_trans_alloc() runs before xfs_trans_reserve() sets PF_FSTRANS, and 5.3's xfs_trans_alloc()
 * allocates it "before ... setting up GFP_NOFS allocation context" unless the caller passes XFS_TRANS_NOFS.
 * So a create or an unlink allocates with __GFP_FS under the directory's i_mutex (before its ILOCKs).
 * Joined inodes are unlocked at commit; logged ones go into the CIL, which pins them until their
 * checkpoint is on disk. Used with try-with-resources: a transaction left neither committed nor
 * cancelled (an exception on the way) is cancelled by {@link #close}, so its ILOCKs and its NOFS scope
 * are always given back; a dirty one shuts the filesystem down first, as xfs_trans_cancel() does.
 */
final class XfsTrans implements AutoCloseable {
    /** About sizeof(struct xfs_trans) on x86-64 without DEBUG, from 3.14's fields (4.3's and 5.3's are close). */
    static final int XFS_TRANS_SIZE = 280;
    private final Xfs mp;
    private final long handle;
    private final SchedMm.MemallocScope fstrans;
    private final List<XfsInode> joined = new ArrayList<>();
    private final List<Integer> joinedFlags = new ArrayList<>();
    private final List<XfsLogItem> logged = new ArrayList<>();
    private boolean done;

    private XfsTrans(Xfs mp, long handle) {
        this.mp = mp;
        this.handle = handle;
        this.fstrans = SchedMm.nofsScope();
    }

    /** xfs_trans_alloc() + xfs_trans_reserve(): the handle with KM_SLEEP (GFP_KERNEL), then the NOFS section. */
    static XfsTrans xfsTransAlloc(Xfs mp) {
        return xfsTransAlloc(mp, Gfp.GFP_KERNEL);
    }

    /**
     * The same with the handle's allocation flags given: GFP_NOFS for XFS_TRANS_NOFS (5.3) or a caller already
     * in a NOFS context. kmem_zone_alloc() never fails a sleeping allocation: it retries, as XfsBuf's does.
     */
    static XfsTrans xfsTransAlloc(Xfs mp, int gfp) {
        Kernel k = mp.kernel();
        KmemCache zone = mp.xfsTransZone();
        long handle;
        for (int retries = 0; (handle = k.mm().kmemCacheAlloc(zone, gfp)) == 0; ) {
            mp.kmemZoneBackOff(++retries, "kmem_zone_alloc", gfp);
        }
        k.mm().mem().memset(handle, 0, XFS_TRANS_SIZE);
        return new XfsTrans(mp, handle);
    }

    /** xfs_trans_ijoin(): the caller locked {@code ip} with {@code lockFlags}; commit unlocks it. */
    void xfsTransIjoin(XfsInode ip, int lockFlags) {
        joined.add(ip);
        joinedFlags.add(lockFlags);
    }

    /** xfs_trans_log_inode(): the inode's core (and data fork) changed in this transaction. */
    void xfsTransLogInode(XfsInode ip) {
        if (!joined.contains(ip)) {
            throw new IllegalStateException("xfs_trans_log_inode(" + ip + "): inode not joined to the transaction");
        }
        if (!logged.contains(ip.logItem)) {
            logged.add(ip.logItem);
        }
    }

    /** xfs_trans_commit(): logged items into the CIL (never waiting for IO), then unlock and end NOFS. */
    void xfsTransCommit() {
        finish(true);
    }

    /**
     * xfs_trans_cancel(): gives back the locks and the NOFS scope without committing. A transaction that
     * logged items has changed in-core metadata the log will never see: the filesystem is shut down.
     */
    void xfsTransCancel() {
        if (!logged.isEmpty()) {
            mp.xfsForceShutdown("xfs_trans_cancel of a dirty transaction (" + logged.size() + " items logged)");
        }
        finish(false);
    }

    /** Cancels the transaction if it was neither committed nor cancelled (the error path). */
    @Override
    public void close() {
        if (!done) {
            xfsTransCancel();
        }
    }

    private void finish(boolean commit) {
        if (done) {
            throw new IllegalStateException("transaction on " + mp.devName() + " committed or cancelled twice");
        }
        done = true;
        try {
            if (commit && !logged.isEmpty()) {
                mp.log().xfsLogCommitCil(List.copyOf(logged));
            }
        } finally {
            for (int i = joined.size() - 1; i >= 0; i--) {
                joined.get(i).xfsIunlock(joinedFlags.get(i));
            }
            fstrans.close();
            mp.kernel().mm().kmemCacheFree(mp.xfsTransZone(), handle);
        }
    }
}
