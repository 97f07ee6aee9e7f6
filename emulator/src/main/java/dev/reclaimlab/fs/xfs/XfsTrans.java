package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.mm.SchedMm;

import java.util.ArrayList;
import java.util.List;

/**
 * struct xfs_trans (fs/xfs/xfs_trans.c): one metadata change. It runs as a NOFS section (the 2015
 * PF_FSTRANS), so nothing allocated inside can recurse into filesystem reclaim while it holds ILOCKs.
 * Joined inodes are unlocked at commit; logged ones go into the CIL, which pins them until their
 * checkpoint is on disk.
 */
final class XfsTrans {
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

    /** xfs_trans_cancel(): nothing was changed. */
    void xfsTransCancel() {
        if (!logged.isEmpty()) {
            throw new IllegalStateException("xfs_trans_cancel of a dirty transaction on " + mp.devName()
                    + " (" + logged.size() + " items logged): the kernel would shut the filesystem down");
        }
        finish(false);
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
