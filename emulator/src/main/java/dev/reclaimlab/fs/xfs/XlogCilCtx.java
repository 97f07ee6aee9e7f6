package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.locking.Completion;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * struct xfs_cil_ctx (fs/xfs/xfs_log_priv.h): one checkpoint. Committers add items while it is the CIL's
 * current context (under xc_ctx_lock read and xc_cil_lock); xfs-cil then owns it alone while pushing; the
 * task completing the iclog with its commit record unpins its items and completes {@link #done}.
 *
 * <p>Who owes {@link #done}: xfs-cil until the push has put the whole checkpoint into submitted iclogs,
 * then the holders of the bios of those iclogs (and of older ones: callbacks run in log order).
 */
final class XlogCilCtx {
    final long seq;
    /** The checkpoint's items in log order (xc_cil); with the bytes each was committed with. */
    final List<XfsLogItem> items = new ArrayList<>();
    final Map<XfsLogItem, Integer> sizes = new IdentityHashMap<>();
    /** Bytes of the formatted items (ctx->space_used); under xc_cil_lock, read racily for the push trigger. */
    volatile long spaceUsed;
    volatile int nrItems;
    /** Set once xlogWrite has released the iclog with this checkpoint's commit record. */
    volatile boolean pushed;
    /** writeSeq of the iclog holding the commit record. */
    volatile long lastWriteSeq;
    /** Complete (all) when the checkpoint is on disk and its items are unpinned. */
    final Completion done;

    XlogCilCtx(long seq, String devName) {
        this.seq = seq;
        this.done = new Completion("xfs_cil_ctx " + devName + " seq " + seq);
    }

    boolean isEmpty() {
        return nrItems == 0;
    }

    @Override
    public String toString() {
        return "checkpoint " + seq + " (" + nrItems + " items, " + spaceUsed + " bytes"
                + (done.completionDone() ? ", on disk)" : pushed ? ", under IO)" : ")");
    }
}
