package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.RwSemaphore;
import dev.reclaimlab.locking.SpinLock;
import dev.reclaimlab.locking.WaitQueue;

import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * struct xfs_cil with xfs_log_cil.c: the committed item list. Commits add items to the current checkpoint
 * without IO; the xfs-cil kernel thread pushes a checkpoint into the iclogs when the CIL grows past
 * {@link #spaceLimit} (background push) or when a log force asks for it.
 */
final class XlogCil {
    private static final LockClassKey XC_CTX_LOCK = new LockClassKey("&cil->xc_ctx_lock");
    private static final LockClassKey XC_CIL_LOCK = new LockClassKey("&cil->xc_cil_lock");
    private static final long IDLE_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final XfsLog log;
    private final Kernel kernel;
    private final String devName;
    private final long spaceLimit;
    /** Committers hold it shared; the push holds it exclusively to switch checkpoints. */
    private final RwSemaphore ctxLock;
    /** Serialises committers adding items to the current checkpoint. */
    private final SpinLock cilLock;
    /** xfs-cil idles here until a push is wanted. */
    private final WaitQueue pushWait;
    /** xc_push_seq: the newest checkpoint somebody asked to push. */
    private final AtomicLong pushSeq = new AtomicLong();
    /** xc_committing: pushed checkpoints not yet on disk, oldest first. */
    private final ConcurrentLinkedQueue<XlogCilCtx> committing = new ConcurrentLinkedQueue<>();
    private volatile XlogCilCtx ctx;
    private final Task cilTask;
    private volatile long checkpointsPushed;

    XlogCil(XfsLog log, Kernel kernel, String devName, long spaceLimit) {
        this.log = log;
        this.kernel = kernel;
        this.devName = devName;
        this.spaceLimit = spaceLimit;
        this.ctxLock = new RwSemaphore("xc_ctx_lock", XC_CTX_LOCK);
        this.cilLock = new SpinLock("xc_cil_lock", XC_CIL_LOCK);
        this.pushWait = new WaitQueue("xc_push_wait " + devName);
        this.ctx = new XlogCilCtx(1, devName);
        this.cilTask = kernel.kthreadRun("xfs-cil/" + devName, this::xlogCilWorker);
        ctx.done.expectWakers(cilTask);
    }

    Task cilTask() {
        return cilTask;
    }

    long spaceLimit() {
        return spaceLimit;
    }

    long checkpointsPushed() {
        return checkpointsPushed;
    }

    Iterable<XlogCilCtx> committing() {
        return committing;
    }

    /**
     * xlog_cil_commit() (xlog_cil_insert_items()): adds the items to the current checkpoint, pinning each
     * one the checkpoint did not hold yet, then kicks a background push if the CIL is over its limit.
     */
    void xlogCilCommit(List<XfsLogItem> items, int[] sizes) {
        XfsLogItem[] fresh = new XfsLogItem[items.size()];
        int nFresh = 0;
        ctxLock.downRead();
        try {
            XlogCilCtx c;
            cilLock.spinLock();
            try {
                c = ctx;
                long space = c.spaceUsed;
                for (int i = 0; i < sizes.length; i++) {
                    XfsLogItem item = items.get(i);
                    Integer old = c.sizes.put(item, sizes[i]);
                    if (old == null) {
                        c.items.add(item);
                        fresh[nFresh++] = item;
                        space += XfsLog.XLOG_OP_HEADER_SIZE + sizes[i];
                    } else {
                        space += sizes[i] - old;
                    }
                }
                c.spaceUsed = space;
                c.nrItems = c.items.size();
            } finally {
                cilLock.spinUnlock();
            }
            // Pinned before xc_ctx_lock is dropped, so the checkpoint cannot be pushed and unpinned first.
            for (int i = 0; i < nFresh; i++) {
                fresh[i].iopPin();
            }
            xlogCilPushBackground(c);
        } finally {
            ctxLock.upRead();
        }
    }

    /** xlog_cil_push_background(): over the space limit, ask xfs-cil to push this checkpoint. */
    private void xlogCilPushBackground(XlogCilCtx c) {
        if (c.spaceUsed >= spaceLimit && pushSeq.get() < c.seq) {
            xlogCilPushNow(c.seq);
        }
    }

    /** xlog_cil_push_now(): ask xfs-cil to push every checkpoint up to {@code seq}; does not wait. */
    void xlogCilPushNow(long seq) {
        pushSeq.accumulateAndGet(seq, Math::max);
        pushWait.wakeUp();
    }

    long currentSeq() {
        return ctx.seq;
    }

    private boolean pushPending() {
        XlogCilCtx c = ctx;
        return !c.isEmpty() && pushSeq.get() >= c.seq;
    }

    /** The xfs-cil kernel thread (the kernel's xfs-cil workqueue running xlog_cil_push_work). */
    private void xlogCilWorker(Task self) {
        while (!self.kthreadShouldStop()) {
            pushWait.waitEventInterruptibleTimeout(() -> pushPending() || self.kthreadShouldStop(), IDLE_NANOS);
            if (pushPending()) {
                xlogCilPush();
            }
        }
    }

    /**
     * xlog_cil_push_work(): switches to a new checkpoint under xc_ctx_lock, then writes the old one into the
     * iclogs (xlog_write), which may block in xlogStateGetIclogSpace while every iclog is under IO.
     */
    void xlogCilPush() {
        Task self = Task.current();
        XlogCilCtx c;
        ctxLock.downWrite();
        try {
            c = ctx;
            if (c.isEmpty()) {
                return;
            }
            XlogCilCtx next = new XlogCilCtx(c.seq + 1, devName);
            next.done.expectWakers(self);
            committing.add(c);
            ctx = next;
            checkpointsPushed++;
        } finally {
            ctxLock.upWrite();
        }
        log.xlogWrite(c);
    }

    /**
     * xlog_cil_committed(): the checkpoint's commit record is on disk. Runs on the task that completed the
     * iclog IO: unpins every item, then wakes the forces waiting for this checkpoint.
     */
    void xlogCilCommitted(XlogCilCtx c) {
        for (XfsLogItem item : c.items) {
            item.iopUnpin();
        }
        committing.remove(c);
        c.done.completeAll();
    }

    /**
     * xlog_cil_force_seq(): the checkpoint a sync force must wait for. Pushes the current checkpoint if it
     * holds items; otherwise the newest pushed checkpoint still under IO; null when everything is on disk.
     */
    XlogCilCtx xlogCilForce() {
        XlogCilCtx c = ctx;
        if (!c.isEmpty()) {
            xlogCilPushNow(c.seq);
            return c;
        }
        XlogCilCtx newest = null;
        for (XlogCilCtx p : committing) {
            if (p.seq < c.seq && !p.done.completionDone() && (newest == null || p.seq > newest.seq)) {
                newest = p;
            }
        }
        return newest;
    }

    /** Stops xfs-cil; the caller forced the log first. */
    void stop() {
        if (!kernel.kthreadStop(cilTask)) {
            throw new IllegalStateException("xfsLogUnmount(" + devName + "): " + cilTask + " did not stop");
        }
    }
}
