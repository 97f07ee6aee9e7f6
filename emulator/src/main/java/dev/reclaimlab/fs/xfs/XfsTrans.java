package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.mm.SchedMm;

import java.util.ArrayList;
import java.util.List;

/**
 * struct xfs_trans (fs/xfs/xfs_trans.c): one metadata change. It runs as a NOFS section (the 2015
 * PF_FSTRANS), so nothing allocated inside can recurse into filesystem reclaim while it holds ILOCKs.
 * Joined inodes are unlocked at commit; logged ones go into the CIL, which pins them until their
 * checkpoint is on disk. Used with try-with-resources: a transaction left neither committed nor
 * cancelled (an exception on the way) is cancelled by {@link #close}, so its ILOCKs and its NOFS scope
 * are always given back; a dirty one shuts the filesystem down first, as xfs_trans_cancel() does.
 */
final class XfsTrans implements AutoCloseable {
    private final Xfs mp;
    private final SchedMm.MemallocScope fstrans;
    private final List<XfsInode> joined = new ArrayList<>();
    private final List<Integer> joinedFlags = new ArrayList<>();
    private final List<XfsLogItem> logged = new ArrayList<>();
    private boolean done;

    private XfsTrans(Xfs mp) {
        this.mp = mp;
        this.fstrans = SchedMm.nofsScope();
    }

    /** xfs_trans_alloc() + xfs_trans_reserve(). */
    static XfsTrans xfsTransAlloc(Xfs mp) {
        return new XfsTrans(mp);
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
        }
    }
}
