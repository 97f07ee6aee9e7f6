package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.WaitQueue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The flusher (fs/fs-writeback.c): the dirty inodes, each with the time it became dirty (dirtied_when), and
 * the kthread "kworker/u:flush" that writes them back. Two models, by {@link #FLUSHER_EMULATED}:
 * <ul>
 * <li>the emulator's, for 4.3 and later: it wakes every 100 ms (or when kicked for background writeback)
 * and writes every dirty inode;</li>
 * <li>Linux 3.14's bdi_writeback_workfn() -> wb_do_writeback(): first the queued works (direct reclaim's
 * wakeup_flusher_threads(nr_scanned)), then wb_check_old_data_flush() once per dirty_writeback_interval
 * (5 s) for inodes dirty longer than dirty_expire_interval (30 s), then wb_check_background_flush() while
 * over_bground_thresh(): NR_FILE_DIRTY + NR_UNSTABLE_NFS above the background threshold, or the device's
 * reclaimable pages above its share of it. Each inode gets __writeback_single_inode(): writepages of at
 * most a chunk, then ->write_inode() (NFS commits there, asynchronously, only once more than half its
 * requests wait for a COMMIT). Below the background threshold, nothing but kupdate writes.</li>
 * </ul>
 * One kthread serves every device here (3.14 runs one work per bdi on bdi_wq); a device's background
 * writeback writes only its own inodes unless the global threshold is exceeded.
 */
final class Flusher {
    /**
     * Not a kernel change: the flusher the emulator's 4.3 and later kernels have had since xfs-on-loop was
     * built and measured with it, kept for them exactly; 3.14 runs the kernel's own rules.
     */
    public static final Fix FLUSHER_EMULATED = Fix.declare("writeback_flusher_emulated_4_3",
            "emulator model, not a kernel patch: the flusher wakes every 100 ms and writes every dirty inode,"
                    + " whatever the dirty thresholds and the inodes' age; direct reclaim does not wake it",
            "none: the emulator's approximation of the 4.3 flusher", KernelVersion.V4_3);

    /** The emulated flusher's period (a compressed dirty_writeback_centisecs). */
    static final long EMULATED_INTERVAL_NANOS = 100_000_000L;
    /** dirty_writeback_centisecs (3.14 default): kupdate's period, in jiffies at HZ = 100. */
    static final long DIRTY_WRITEBACK_CENTISECS = 500;
    /** dirty_expire_centisecs (3.14 default): how long an inode is dirty before kupdate writes it. */
    static final long DIRTY_EXPIRE_CENTISECS = 3000;
    /**
     * writeback_chunk_size(): round_down(min(bandwidth / 2, global_dirty_limit / DIRTY_SCOPE, nr_pages) +
     * MIN_WRITEBACK_PAGES, MIN_WRITEBACK_PAGES), which on the emulator's small memories is always
     * MIN_WRITEBACK_PAGES (4 MiB).
     */
    static final long WRITEBACK_CHUNK = 1024;

    private enum Kind { WORK, KUPDATE, BACKGROUND }

    private final Kernel kernel;
    private final Mm mm;
    private final Writeback wb;
    private final Map<AddressSpace, Long> dirty = new ConcurrentHashMap<>();
    private final WaitQueue wait = new WaitQueue("wb->dwork");
    private final AtomicLong queuedPages = new AtomicLong();
    private final AtomicLong backgroundPasses = new AtomicLong();
    private final AtomicLong kupdatePasses = new AtomicLong();
    private final AtomicLong reclaimWakeups = new AtomicLong();
    private volatile boolean backgroundPending;
    private volatile long lastOldFlush;
    private Task task;

    Flusher(Kernel kernel, Mm mm, Writeback wb) {
        this.kernel = kernel;
        this.mm = mm;
        this.wb = wb;
    }

    void start() {
        lastOldFlush = System.nanoTime();
        task = kernel.kthreadRun("kworker/u:flush", kernel.config().has(FLUSHER_EMULATED)
                ? this::emulatedWorkfn : this::bdiWritebackWorkfn);
    }

    Task task() {
        return task;
    }

    /** __mark_inode_dirty(): a clean inode goes on the dirty list with dirtied_when = now. */
    void markInodeDirty(AddressSpace m) {
        dirty.putIfAbsent(m, System.nanoTime());
    }

    void forget(AddressSpace m) {
        dirty.remove(m);
    }

    boolean isDirty(AddressSpace m) {
        return dirty.containsKey(m);
    }

    /** bdi_start_background_writeback(). */
    void wakeupBackground() {
        backgroundPending = true;
        wait.wakeUp();
    }

    /**
     * wakeup_flusher_threads(nr_pages) (3.14, from do_try_to_free_pages()): a WB_SYNC_NONE work of
     * {@code nrPages} for the devices with dirty inodes. Works queued before the flusher ran are merged.
     * The emulated flusher has no such wake-up.
     */
    void wakeupFlusherThreads(long nrPages) {
        if (kernel.config().has(FLUSHER_EMULATED) || dirty.isEmpty() || nrPages <= 0) {
            return;
        }
        reclaimWakeups.incrementAndGet();
        queuedPages.addAndGet(nrPages);
        wait.wakeUp();
    }

    long backgroundPasses() {
        return backgroundPasses.get();
    }

    long kupdatePasses() {
        return kupdatePasses.get();
    }

    long reclaimWakeups() {
        return reclaimWakeups.get();
    }

    private void emulatedWorkfn(Task self) {
        while (!self.kthreadShouldStop()) {
            wait.waitEventInterruptibleTimeout(() -> backgroundPending || self.kthreadShouldStop(),
                    EMULATED_INTERVAL_NANOS);
            if (self.kthreadShouldStop()) {
                return;
            }
            backgroundPending = false;
            for (AddressSpace m : dirty.keySet()) {
                if (self.kthreadShouldStop()) {
                    return;
                }
                dirty.remove(m);
                WritebackControl wbc = new WritebackControl(WritebackControl.SyncMode.WB_SYNC_NONE, false, true,
                        WRITEBACK_CHUNK);
                if (wb.writeCachePages(m, wbc) > 0 || wbc.nrToWrite <= 0) {
                    markInodeDirty(m);
                }
                m.aops().writeInode(m, wbc);
            }
        }
    }

    /**
     * bdi_writeback_workfn(): wb_do_writeback(), then sleep until kicked or until dirty_writeback_interval
     * has passed (3.14 requeues the delayed work after it while there is dirty IO).
     */
    private void bdiWritebackWorkfn(Task self) {
        long interval = kernel.jiffiesToNanos(DIRTY_WRITEBACK_CENTISECS);
        while (!self.kthreadShouldStop()) {
            wait.waitEventInterruptibleTimeout(() -> backgroundPending || queuedPages.get() > 0
                    || self.kthreadShouldStop(), interval);
            if (self.kthreadShouldStop()) {
                return;
            }
            backgroundPending = false;
            wbDoWriteback(self);
        }
    }

    /**
     * wb_do_writeback(): the queued works, then wb_check_old_data_flush(), then wb_check_background_flush().
     * The flusher runs it; a test may run one in its own task.
     */
    void wbDoWriteback(Task self) {
        long work = queuedPages.getAndSet(0);
        if (work > 0) {
            wbWriteback(self, Kind.WORK, work);
        }
        wbCheckOldDataFlush(self);
        if (anyOverBgroundThresh()) {
            backgroundPasses.incrementAndGet();
            wbWriteback(self, Kind.BACKGROUND, Long.MAX_VALUE);
        }
    }

    /** wb_check_old_data_flush(): once per dirty_writeback_interval, kupdate for every dirty page's worth. */
    private void wbCheckOldDataFlush(Task self) {
        long now = System.nanoTime();
        if (now - lastOldFlush < kernel.jiffiesToNanos(DIRTY_WRITEBACK_CENTISECS)) {
            return;
        }
        lastOldFlush = now;
        VmStat v = mm.vmstat();
        long nrPages = v.get(VmStatItem.NR_DIRTY) + v.get(VmStatItem.NR_UNSTABLE_NFS) + dirty.size();
        if (nrPages > 0) {
            kupdatePasses.incrementAndGet();
            wbWriteback(self, Kind.KUPDATE, nrPages);
        }
    }

    /**
     * wb_writeback(): passes over the inodes dirtied before oldest_jif (now for a work and for background
     * writeback; now - dirty_expire_interval for kupdate) until the work's pages are written, background
     * writeback is below the threshold, a queued work preempts kupdate or background, or a pass makes no
     * progress.
     */
    private void wbWriteback(Task self, Kind kind, long nrPages) {
        long[] left = {nrPages};
        long oldest = System.nanoTime();
        while (left[0] > 0 && !self.kthreadShouldStop()) {
            if (kind != Kind.WORK && queuedPages.get() > 0) {
                return;
            }
            if (kind == Kind.BACKGROUND && !anyOverBgroundThresh()) {
                return;
            }
            if (kind == Kind.KUPDATE) {
                oldest = System.nanoTime() - kernel.jiffiesToNanos(DIRTY_EXPIRE_CENTISECS);
            } else if (kind == Kind.BACKGROUND) {
                oldest = System.nanoTime();
            }
            if (writebackInodes(self, kind, oldest, left) == 0) {
                return;
            }
        }
    }

    /**
     * queue_io() + writeback_sb_inodes(): the expired inodes, oldest first, each written by
     * __writeback_single_inode() and requeued by requeue_inode(). Returns the progress: pages written plus
     * the inodes that became clean.
     */
    private long writebackInodes(Task self, Kind kind, long oldest, long[] left) {
        List<Map.Entry<AddressSpace, Long>> io = new ArrayList<>();
        for (Map.Entry<AddressSpace, Long> e : dirty.entrySet()) {
            if (e.getValue() - oldest <= 0
                    && (kind != Kind.BACKGROUND || overBgroundThresh(e.getKey().bdi()))) {
                io.add(Map.entry(e.getKey(), e.getValue()));
            }
        }
        io.sort(Map.Entry.comparingByValue((a, b) -> Long.signum(a - b)));
        long wrote = 0;
        for (Map.Entry<AddressSpace, Long> e : io) {
            if (self.kthreadShouldStop()) {
                return wrote;
            }
            AddressSpace m = e.getKey();
            Long when = dirty.remove(m);
            if (when == null) {
                continue;
            }
            WritebackControl wbc = new WritebackControl(WritebackControl.SyncMode.WB_SYNC_NONE, false,
                    kind == Kind.BACKGROUND, WRITEBACK_CHUNK);
            long skipped = wb.writeCachePages(m, wbc);
            m.aops().writeInode(m, wbc);
            long written = WRITEBACK_CHUNK - wbc.nrToWrite;
            left[0] -= written;
            wrote += written;
            requeueInode(m, when, skipped > 0 && wbc.nrToWrite <= 0, skipped > 0);
            if (!dirty.containsKey(m)) {
                wrote++;
            }
            if (wrote > 0 && left[0] <= 0) {
                break;
            }
        }
        return wrote;
    }

    /**
     * requeue_inode(): an inode whose chunk ran out with pages left keeps its place (requeue_io); one still
     * dirty otherwise goes back to the dirty list (redirty_tail: dirtied_when becomes now when a newer inode
     * is there); a clean one leaves the list.
     */
    private void requeueInode(AddressSpace m, long when, boolean chunkUsedUp, boolean pagesLeft) {
        if (chunkUsedUp) {
            dirty.merge(m, when, Math::min);
            return;
        }
        Long redirtied = dirty.get(m);
        if (!pagesLeft && redirtied == null) {
            return;
        }
        long newest = Long.MIN_VALUE;
        for (Map.Entry<AddressSpace, Long> e : dirty.entrySet()) {
            if (e.getKey() != m) {
                newest = Math.max(newest, e.getValue());
            }
        }
        long t = newest != Long.MIN_VALUE && when - newest < 0 ? System.nanoTime() : when;
        dirty.merge(m, t, Math::min);
    }

    /** over_bground_thresh() for any device with dirty inodes. */
    private boolean anyOverBgroundThresh() {
        for (AddressSpace m : dirty.keySet()) {
            if (overBgroundThresh(m.bdi())) {
                return true;
            }
        }
        return false;
    }

    /**
     * over_bground_thresh(bdi): NR_FILE_DIRTY + NR_UNSTABLE_NFS above the background threshold, or the
     * device's reclaimable pages (dirty and unstable) above its share of it.
     */
    boolean overBgroundThresh(BackingDevInfo bdi) {
        long bg = wb.dirtyLimits(task)[0];
        VmStat v = mm.vmstat();
        if (v.get(VmStatItem.NR_DIRTY) + v.get(VmStatItem.NR_UNSTABLE_NFS) > bg) {
            return true;
        }
        return bdi.nrDirty() > wb.wbThresh(bg);
    }
}
