package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.WorkStruct;
import dev.reclaimlab.kernel.Workqueue;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.RwSemaphore;
import dev.reclaimlab.locking.SpinLock;
import dev.reclaimlab.locking.Waitable;
import dev.reclaimlab.locking.WakerSink;

import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * struct xfs_cil with xfs_log_cil.c, as in Linux 4.3: the committed item list. Commits add items to the
 * current checkpoint without IO; the checkpoint is pushed into the iclogs by xlog_cil_push_work, a work on
 * the mount's m_cil_workqueue "xfs-cil/DEV" (xfs_init_mount_workqueues(): WQ_MEM_RECLAIM | WQ_FREEZABLE,
 * max_active 0: a per-CPU queue, so the push runs on a kworker and, while memory is short, its rescuer),
 * queued when the CIL grows past {@link #spaceLimit} (background push) or when a log force asks for it.
 */
final class XlogCil {
    private static final LockClassKey XC_CTX_LOCK = new LockClassKey("&cil->xc_ctx_lock");
    private static final LockClassKey XC_CIL_LOCK = new LockClassKey("&cil->xc_cil_lock");
    private static final LockClassKey XC_PUSH_LOCK = new LockClassKey("&cil->xc_push_lock");

    private final XfsLog log;
    private final String devName;
    private final long spaceLimit;
    /** Committers hold it shared; the push holds it exclusively to switch checkpoints. */
    private final RwSemaphore ctxLock;
    /** Serialises committers adding items to the current checkpoint. */
    private final SpinLock cilLock;
    /** xc_push_lock: guards xc_push_seq and queueing the push. */
    private final SpinLock pushLock;
    /** m_cil_workqueue. */
    private final Workqueue cilWorkqueue;
    /** xc_push_work. */
    private final WorkStruct pushWork;
    /** xc_push_seq: the newest checkpoint somebody asked to push. */
    private final AtomicLong pushSeq = new AtomicLong();
    /** xc_committing: pushed checkpoints not yet on disk, oldest first. */
    private final ConcurrentLinkedQueue<XlogCilCtx> committing = new ConcurrentLinkedQueue<>();
    private volatile XlogCilCtx ctx;
    private volatile long checkpointsPushed;

    XlogCil(XfsLog log, Kernel kernel, String devName, long spaceLimit) {
        this.log = log;
        this.devName = devName;
        this.spaceLimit = spaceLimit;
        this.ctxLock = new RwSemaphore("xc_ctx_lock", XC_CTX_LOCK);
        this.cilLock = new SpinLock("xc_cil_lock", XC_CIL_LOCK);
        this.pushLock = new SpinLock("xc_push_lock", XC_PUSH_LOCK);
        this.cilWorkqueue = Workqueue.allocWorkqueue(kernel, "xfs-cil/" + devName,
                Workqueue.WQ_MEM_RECLAIM | Workqueue.WQ_FREEZABLE, 0);
        this.pushWork = new WorkStruct("xlog_cil_push_work", this::xlogCilPushWork);
        this.ctx = newCtx(1);
    }

    /**
     * A checkpoint's completion is owed by the push until the push has released the iclog with its commit
     * record, then by whoever completes the IO of that iclog and every older one.
     */
    private XlogCilCtx newCtx(long seq) {
        XlogCilCtx c = new XlogCilCtx(seq, devName);
        c.done.expectWakersFrom(new Waitable() {
            @Override
            public String name() {
                return c.done.name();
            }

            @Override
            public void wakers(WakerSink out) {
                if (c.pushed) {
                    log.iclogWakers(out, c.lastWriteSeq);
                } else {
                    pushWork.wakers(out);
                }
            }
        });
        return c;
    }

    WorkStruct pushWork() {
        return pushWork;
    }

    Workqueue cilWorkqueue() {
        return cilWorkqueue;
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

    /** Whoever will put every checkpoint not yet on disk there: the pushes and the IO of the pushed ones. */
    void unpinWakers(WakerSink out) {
        for (XlogCilCtx c : committing) {
            if (!c.done.completionDone()) {
                c.done.wakers(out);
            }
        }
        if (!ctx.isEmpty()) {
            pushWork.wakers(out);
        }
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

    /** xlog_cil_push_background(): over the space limit, queue the push of the current checkpoint. */
    private void xlogCilPushBackground(XlogCilCtx c) {
        if (c.spaceUsed < spaceLimit) {
            return;
        }
        pushLock.spinLock();
        try {
            if (pushSeq.get() < c.seq) {
                pushSeq.set(c.seq);
                cilWorkqueue.queueWork(pushWork);
            }
        } finally {
            pushLock.spinUnlock();
        }
    }

    /**
     * xlog_cil_push_now(): first waits for a push already queued or running (flush_work(), "to minimise
     * wait time on it"), then queues the push of every checkpoint up to {@code seq} unless it is empty or
     * already asked for. Does not wait for the new push.
     */
    void xlogCilPushNow(long seq) {
        Workqueue.flushWork(pushWork);
        pushLock.spinLock();
        try {
            if (ctx.isEmpty() || seq <= pushSeq.get()) {
                return;
            }
            pushSeq.set(seq);
            cilWorkqueue.queueWork(pushWork);
        } finally {
            pushLock.spinUnlock();
        }
    }

    long currentSeq() {
        return ctx.seq;
    }

    /** xlog_cil_push_work(): the work xc_push_work runs. */
    private void xlogCilPushWork() {
        xlogCilPush();
    }

    /**
     * xlog_cil_push(): switches to a new checkpoint under xc_ctx_lock, then writes the old one into the
     * iclogs (xlog_write), which may block in xlogStateGetIclogSpace while every iclog is under IO.
     */
    void xlogCilPush() {
        XlogCilCtx c;
        ctxLock.downWrite();
        try {
            c = ctx;
            if (c.isEmpty() || pushSeq.get() < c.seq) {
                return;
            }
            XlogCilCtx next = newCtx(c.seq + 1);
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
     * xlog_cil_force_lsn(): pushes the CIL up to the current checkpoint (waiting for a push in progress
     * first) and returns the checkpoint a sync force must wait for: the current one if it holds items,
     * else the newest pushed one still under IO; null when everything is on disk.
     */
    XlogCilCtx xlogCilForce() {
        XlogCilCtx c = ctx;
        xlogCilPushNow(c.seq);
        if (!c.isEmpty()) {
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

    /** destroy_workqueue(m_cil_workqueue) at unmount; the caller forced the log first. */
    void stop() {
        cilWorkqueue.destroyWorkqueue();
    }
}
