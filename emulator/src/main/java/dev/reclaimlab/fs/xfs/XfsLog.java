package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.block.Bio;
import dev.reclaimlab.block.BlockDevice;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.WorkStruct;
import dev.reclaimlab.kernel.Workqueue;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.SpinLock;
import dev.reclaimlab.locking.WaitQueue;
import dev.reclaimlab.locking.Waitable;
import dev.reclaimlab.locking.WakerSink;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.PageAlloc;
import dev.reclaimlab.mm.PhysMem;

import java.nio.ByteOrder;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * struct xlog with fs/xfs/xfs_log.c, as in Linux 4.3: the log of one mounted filesystem. It owns the CIL
 * ({@link XlogCil}, pushed by xlog_cil_push_work on the "xfs-cil/DEV" workqueue) and a ring of
 * {@code logbufs} in-core log buffers ({@link XlogIclog}) of {@code logbsize} bytes of kernel pages,
 * written as bios to the circular log region [logStart, logStart + logSectors) of the device. A bio's end
 * only queues its buffer's xfs_buf_ioend_work on the mount's m_log_workqueue "xfs-log/DEV"
 * (WQ_MEM_RECLAIM | WQ_FREEZABLE | WQ_HIGHPRI: a per-CPU highpri queue, "use high priority wq for log I/O
 * completion"); that work runs xlog_iodone(): the iclog's callbacks and the unpinning. Log space and tail
 * pushing are not modelled: the log just wraps, bumping its cycle.
 *
 * <p>Waits and who owes them (the watchdog's wait-for edges), computed whenever the watchdog reads them:
 * <ul>
 * <li>xfsLogForce waits in flush_work() for a push in progress (owed by its worker), then on its
 *     checkpoint's completion: owed by the push work until it has released the checkpoint's last iclog,
 *     then by whoever completes the IO of that iclog and every older one.
 * <li>xlogStateGetIclogSpace (the push) waits on l_flush_wait for the next iclog of the ring: owed by
 *     whoever completes the IO of that iclog and every older one still in flight.
 * </ul>
 * An iclog's IO is owed by its bios, i.e. by every task each bio names (its device worker, or all who
 * could take it off a queue), then by its ioend work (its pool and the xfs-log rescuer).
 */
public final class XfsLog {
    /** XLOG_HEADER_MAGIC_NUM: first word of every log record. */
    public static final int XLOG_HEADER_MAGIC_NUM = 0xFEEDBABE;
    /** The record header takes one basic block (BBSIZE) at the start of each iclog write. */
    public static final int XLOG_HEADER_SIZE = Bio.SECTOR_SIZE;
    /** sizeof(struct xlog_op_header). */
    public static final int XLOG_OP_HEADER_SIZE = 12;
    public static final int XLOG_MIN_ICLOGS = 2;
    public static final int XLOG_MAX_ICLOGS = 8;
    /** The kernel's minimum is 16 KiB; the emulator allows one page for small test logs. */
    public static final int XLOG_MIN_RECORD_BSIZE = PhysMem.PAGE_SIZE;
    public static final int XLOG_MAX_RECORD_BSIZE = 256 << 10;
    public static final int XLOG_COMMIT_TRANS = 0x02;
    public static final int XLOG_CONTINUE_TRANS = 0x04;
    public static final int XLOG_WAS_CONT_TRANS = 0x08;
    static final int XFS_TRANSACTION = 0x69;

    private static final LockClassKey L_ICLOGLOCK = new LockClassKey("&log->l_icloglock");
    private static final boolean LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    private final Kernel kernel;
    private final PhysMem mem;
    private final BlockDevice dev;
    private final String devName;
    private final long logStart;
    private final long logSectors;
    private final int logbsize;
    private final XlogIclog[] iclogs;
    /** Protects iclog state changes, {@link #oldest} and the callback lists. */
    private final SpinLock icloglock;
    /** Woken whenever an iclog becomes ACTIVE again. */
    private final WaitQueue flushWait;
    /** l_iclog: the iclog xfs-cil writes into next. */
    private volatile int cur;
    /** The oldest iclog that may be in flight; callbacks run from here, in ring order. */
    private int oldest;
    // Where the next write goes (l_curr_block, l_curr_cycle); only xfs-cil moves them.
    private volatile long currBlock;
    private volatile long currCycle = 1;
    private long nextWriteSeq;
    /** m_log_workqueue: log IO completion. */
    private final Workqueue logWorkqueue;
    private final XlogCil cil;
    private volatile long iclogsWritten;
    private volatile long logNoiclogs;
    private final AtomicLong forces = new AtomicLong();
    private final AtomicLong forceWaits = new AtomicLong();
    /** The first failed log write's negative errno; the kernel would shut the filesystem down. */
    private volatile int ioError;
    private volatile boolean unmounted;

    /**
     * xfs_log_mount() / xlog_alloc_log(): allocates the mount's xfs-log and xfs-cil workqueues (which
     * xfs_init_mount_workqueues() does in the kernel) and the iclogs from kernel pages (GFP_NOFS). Call
     * from a kernel task.
     */
    public XfsLog(Kernel k, BlockDevice dev, long logStartSector, long logSectors, int logbufs, int logbsize,
                  String devName) {
        this.kernel = Objects.requireNonNull(k, "kernel");
        this.dev = Objects.requireNonNull(dev, "block device");
        if (devName == null || devName.isEmpty()) {
            throw new IllegalArgumentException("xfs_log_mount: empty device name");
        }
        if (logbufs < XLOG_MIN_ICLOGS || logbufs > XLOG_MAX_ICLOGS) {
            throw new IllegalArgumentException("xfs_log_mount(" + devName + "): logbufs " + logbufs
                    + " is outside [" + XLOG_MIN_ICLOGS + ", " + XLOG_MAX_ICLOGS + "]");
        }
        if (Integer.bitCount(logbsize) != 1 || logbsize < XLOG_MIN_RECORD_BSIZE || logbsize > XLOG_MAX_RECORD_BSIZE) {
            throw new IllegalArgumentException("xfs_log_mount(" + devName + "): logbsize " + logbsize
                    + " is not a power of two in [" + XLOG_MIN_RECORD_BSIZE + ", " + XLOG_MAX_RECORD_BSIZE + "]");
        }
        if (logStartSector < 0 || logSectors < (logbsize >> Bio.SECTOR_SHIFT)
                || logStartSector > dev.nrSectors() - logSectors) {
            throw new IllegalArgumentException("xfs_log_mount(" + devName + "): log [" + logStartSector + ", +"
                    + logSectors + ") sectors must hold one " + logbsize + "-byte iclog and lie inside "
                    + dev.name() + "'s " + dev.nrSectors() + " sectors");
        }
        this.mem = k.mm().mem();
        this.devName = devName;
        this.logStart = logStartSector;
        this.logSectors = logSectors;
        this.logbsize = logbsize;
        this.icloglock = new SpinLock("l_icloglock", L_ICLOGLOCK);
        this.flushWait = new WaitQueue("l_flush_wait " + devName);
        flushWait.expectWakersFrom(new Waitable() {
            @Override
            public String name() {
                return flushWait.name();
            }

            @Override
            public void wakers(WakerSink out) {
                XlogIclog next = iclogs[cur];
                iclogWakers(out, next.inFlight() ? next.writeSeq : Long.MAX_VALUE);
            }
        });
        this.logWorkqueue = Workqueue.allocWorkqueue(k, "xfs-log/" + devName,
                Workqueue.WQ_MEM_RECLAIM | Workqueue.WQ_FREEZABLE | Workqueue.WQ_HIGHPRI, 0);
        this.iclogs = new XlogIclog[logbufs];
        int order = Integer.numberOfTrailingZeros(logbsize >> PhysMem.PAGE_SHIFT);
        for (int i = 0; i < logbufs; i++) {
            int pfn = k.mm().allocPages(Gfp.GFP_NOFS, order);
            if (pfn == PageAlloc.NULL_PAGE) {
                for (int j = 0; j < i; j++) {
                    k.mm().freePages(iclogs[j].pfn, order);
                }
                logWorkqueue.destroyWorkqueue();
                throw new IllegalStateException("xfs_log_mount(" + devName + "): -ENOMEM allocating iclog " + i
                        + " (" + logbsize + " bytes)");
            }
            iclogs[i] = new XlogIclog(i, pfn, order, k.mm().pageAddress(pfn), logbsize);
        }
        long logBytes = logSectors << Bio.SECTOR_SHIFT;
        long spaceLimit = Math.min(logBytes >> 3, 16L * logbufs * logbsize);
        this.cil = new XlogCil(this, k, devName, spaceLimit);
    }

    // ---------------------------------------------------------------- the API filesystems use

    /**
     * xfs_trans_commit() -> xlog_cil_commit(): puts the items into the current CIL checkpoint, pinning each
     * one the checkpoint does not hold yet. Never waits for IO; may queue a background push.
     */
    public void xfsLogCommitCil(List<XfsLogItem> items) {
        if (items == null || items.isEmpty()) {
            throw new IllegalArgumentException("xfsLogCommitCil(" + devName + "): no items to commit");
        }
        checkMounted("xfsLogCommitCil");
        int[] sizes = new int[items.size()];
        for (int i = 0; i < sizes.length; i++) {
            XfsLogItem item = items.get(i);
            if (item == null) {
                throw new IllegalArgumentException("xfsLogCommitCil(" + devName + "): item " + i + " is null");
            }
            int sz = item.formatSize();
            if (sz < 0) {
                throw new IllegalArgumentException("xfsLogCommitCil(" + devName + "): " + item.describe()
                        + " has negative format size " + sz);
            }
            sizes[i] = sz;
        }
        cil.xlogCilCommit(items, sizes);
    }

    /**
     * xfs_log_force(mp, XFS_LOG_SYNC): pushes the CIL and sleeps in D state until every item committed
     * before the call is on disk and unpinned. Returns 0, or the first failed log write's negative errno.
     */
    public int xfsLogForce() {
        checkMounted("xfsLogForce");
        Task me = kernel.currentTask();
        if (me == cil.pushWork().runningOn()) {
            throw new IllegalStateException("xfsLogForce(" + devName + ") from " + me + " would wait for itself");
        }
        forces.incrementAndGet();
        XlogCilCtx c = cil.xlogCilForce();
        if (c != null) {
            forceWaits.incrementAndGet();
            c.done.waitForCompletion();
        }
        return ioError;
    }

    /** xfs_log_force(mp, 0): asks xfs-cil to push the current checkpoint; does not wait. */
    public void xlogCilPushNow() {
        checkMounted("xlogCilPushNow");
        cil.xlogCilPushNow(cil.currentSeq());
    }

    /**
     * xfs_log_unmount(): forces the log, destroys xfs-cil, waits for the iclogs, destroys xfs-log and frees
     * the iclogs' pages.
     */
    public void xfsLogUnmount() {
        checkMounted("xfsLogUnmount");
        xfsLogForce();
        unmounted = true;
        cil.stop();
        flushWait.waitEvent(() -> iclogsUnderIo() == 0);
        logWorkqueue.destroyWorkqueue();
        for (XlogIclog ic : iclogs) {
            kernel.mm().freePages(ic.pfn, ic.order);
        }
    }

    private void checkMounted(String what) {
        if (unmounted) {
            throw new IllegalStateException(what + ": the log of " + devName + " is unmounted");
        }
    }

    // ---------------------------------------------------------------- xlog_write and the iclog state machine

    /** xlog_write() of one checkpoint (xfs-cil): items, then the commit record; the last iclog goes to disk too. */
    void xlogWrite(XlogCilCtx c) {
        int n = c.items.size();
        for (int i = 0; i < n; i++) {
            XfsLogItem item = c.items.get(i);
            xlogWriteRegion(c.seq, c.sizes.get(item), 0, i + 1);
        }
        XlogIclog ic = xlogWriteRegion(c.seq, 0, XLOG_COMMIT_TRANS, 0);
        ic.callbacks.add(c);
        xlogStateSwitchIclogs(ic);
        c.lastWriteSeq = xlogStateReleaseIclog(ic);
        c.pushed = true;
    }

    /** Copies one region (an op header and {@code len} bytes) into iclogs, continuing it across full ones. */
    private XlogIclog xlogWriteRegion(long tid, int len, int flags, int fill) {
        int left = len;
        boolean first = true;
        for (;;) {
            XlogIclog ic = xlogStateGetIclogSpace();
            int room = logbsize - XLOG_HEADER_SIZE - ic.offset - XLOG_OP_HEADER_SIZE;
            int part = Math.min(left, room);
            int fl = flags | (first ? 0 : XLOG_WAS_CONT_TRANS) | (part < left ? XLOG_CONTINUE_TRANS : 0);
            long op = ic.addr + XLOG_HEADER_SIZE + ic.offset;
            putBe32(op, (int) tid);
            putBe32(op + 4, part);
            mem.putByte(op + 8, (byte) XFS_TRANSACTION);
            mem.putByte(op + 9, (byte) fl);
            mem.putByte(op + 10, (byte) 0);
            mem.putByte(op + 11, (byte) 0);
            if (part > 0) {
                mem.memset(op + XLOG_OP_HEADER_SIZE, fill, part);
            }
            ic.offset += XLOG_OP_HEADER_SIZE + part;
            ic.numLogops++;
            left -= part;
            first = false;
            if (left == 0) {
                return ic;
            }
            xlogStateSwitchIclogs(ic);
            xlogStateReleaseIclog(ic);
        }
    }

    /**
     * xlog_state_get_iclog_space(): the current iclog with room for an op header and a byte of data. A full
     * one is sent to disk; when the next one of the ring is still under IO, the push sleeps in D state on
     * l_flush_wait, owed by whoever completes the in-flight iclogs' IO.
     */
    private XlogIclog xlogStateGetIclogSpace() {
        for (;;) {
            XlogIclog ic = iclogs[cur];
            if (ic.state == XlogIclog.State.ACTIVE) {
                if (logbsize - XLOG_HEADER_SIZE - ic.offset > XLOG_OP_HEADER_SIZE) {
                    return ic;
                }
                xlogStateSwitchIclogs(ic);
                xlogStateReleaseIclog(ic);
                continue;
            }
            logNoiclogs++;
            flushWait.waitEvent(() -> iclogs[cur].state == XlogIclog.State.ACTIVE);
        }
    }

    /** xlog_state_switch_iclogs(): the current iclog is done with (WANT_SYNC); l_iclog moves on. */
    private void xlogStateSwitchIclogs(XlogIclog ic) {
        icloglock.spinLock();
        try {
            ic.state = XlogIclog.State.WANT_SYNC;
            cur = (ic.index + 1) % iclogs.length;
        } finally {
            icloglock.spinUnlock();
        }
    }

    /**
     * xlog_state_release_iclog() -> xlog_sync(): stamps the record header and submits the iclog as one bio,
     * or two when the write wraps past the end of the log. Returns the write's sequence in log order.
     */
    private long xlogStateReleaseIclog(XlogIclog ic) {
        int dataLen = ic.offset;
        int bytes = XLOG_HEADER_SIZE + roundUpToSector(dataLen);
        long sectors = bytes >> Bio.SECTOR_SHIFT;
        long block = currBlock;
        long cycle = currCycle;
        long nb = block + sectors;
        if (nb >= logSectors) {
            nb -= logSectors;
            currCycle = cycle + 1;
        }
        currBlock = nb;
        long h = ic.addr;
        mem.memset(h, 0, XLOG_HEADER_SIZE);
        mem.memset(h + XLOG_HEADER_SIZE + dataLen, 0, bytes - XLOG_HEADER_SIZE - dataLen);
        putBe32(h, XLOG_HEADER_MAGIC_NUM);
        putBe32(h + 4, (int) cycle);
        putBe32(h + 8, 2);
        putBe32(h + 12, dataLen);
        putBe32(h + 16, (int) cycle);
        putBe32(h + 20, (int) block);
        putBe32(h + 24, ic.numLogops);
        long firstSectors = Math.min(sectors, logSectors - block);
        Bio b1 = xlogBio(ic, logStart + block, 0, (int) (firstSectors << Bio.SECTOR_SHIFT));
        Bio[] bios = firstSectors == sectors ? new Bio[] {b1} : new Bio[] {b1,
                xlogBio(ic, logStart, (int) (firstSectors << Bio.SECTOR_SHIFT), (int) ((sectors - firstSectors) << Bio.SECTOR_SHIFT))};
        // One xfs_buf per bio (ic_bp, and l_xbuf for the part that wraps), each with its ioend work.
        WorkStruct[] ioends = new WorkStruct[bios.length];
        for (int i = 0; i < bios.length; i++) {
            Bio b = bios[i];
            ioends[i] = new WorkStruct("xfs_buf_ioend_work", () -> xlogIodone(b));
        }
        long seq = ++nextWriteSeq;
        icloglock.spinLock();
        try {
            ic.bios = bios;
            ic.ioends = ioends;
            ic.pendingBios = bios.length;
            ic.ioError = 0;
            ic.writeSeq = seq;
            ic.state = XlogIclog.State.SYNCING;
        } finally {
            icloglock.spinUnlock();
        }
        iclogsWritten++;
        for (Bio b : bios) {
            dev.submitBio(b);
        }
        return seq;
    }

    private Bio xlogBio(XlogIclog ic, long sector, int from, int len) {
        int end = from + len;
        int firstPage = from >> PhysMem.PAGE_SHIFT;
        int lastPage = (end - 1) >> PhysMem.PAGE_SHIFT;
        Bio bio = new Bio(Bio.Op.WRITE, sector, lastPage - firstPage + 1);
        for (int off = from; off < end; ) {
            int pageOff = off & (PhysMem.PAGE_SIZE - 1);
            int seg = Math.min(PhysMem.PAGE_SIZE - pageOff, end - off);
            bio.addPage(ic.pfn + (off >> PhysMem.PAGE_SHIFT), seg, pageOff);
            off += seg;
        }
        // An iclog is written XBF_SYNCIO | XBF_FUA (| XBF_FLUSH): WRITE_SYNC and its kin, never background.
        return bio.setReqSync().setPrivateData(ic).setEndIo(this::xfsBufBioEndIo);
    }

    /**
     * xfs_buf_bio_end_io() -> xfs_buf_ioend_async(): on the task that completed the bio, only queues the
     * buffer's ioend work on xfs-log.
     */
    private void xfsBufBioEndIo(Bio bio) {
        XlogIclog ic = (XlogIclog) bio.privateData();
        Bio[] bios = ic.bios;
        for (int i = 0; i < bios.length; i++) {
            if (bios[i] == bio) {
                logWorkqueue.queueWork(ic.ioends[i]);
                return;
            }
        }
        throw new IllegalStateException("xfs_buf_bio_end_io(" + devName + "): " + bio + " is not a bio of " + ic);
    }

    /** xfs_buf_ioend_work -> xlog_iodone() -> xlog_state_done_syncing(), on an xfs-log worker. */
    private void xlogIodone(Bio bio) {
        XlogIclog ic = (XlogIclog) bio.privateData();
        icloglock.spinLock();
        try {
            if (bio.status() != 0 && ic.ioError == 0) {
                ic.ioError = bio.status();
            }
            if (--ic.pendingBios > 0) {
                return;
            }
            ic.state = XlogIclog.State.DONE_SYNC;
        } finally {
            icloglock.spinUnlock();
        }
        xlogStateDoCallback();
    }

    /**
     * xlog_state_do_callback(): from the oldest iclog on, each one whose IO is done runs its checkpoints'
     * callbacks and becomes ACTIVE again; stops at the first still under IO, so checkpoints complete in
     * log order whichever bio ends first.
     */
    private void xlogStateDoCallback() {
        for (;;) {
            XlogIclog ic;
            icloglock.spinLock();
            try {
                ic = iclogs[oldest];
                if (ic.state != XlogIclog.State.DONE_SYNC) {
                    return;
                }
                ic.state = XlogIclog.State.CALLBACK;
            } finally {
                icloglock.spinUnlock();
            }
            if (ic.ioError != 0 && ioError == 0) {
                ioError = ic.ioError;
                kernel.printk("XFS (" + devName + "): log I/O error " + ic.ioError);
            }
            for (XlogCilCtx c : ic.callbacks) {
                cil.xlogCilCommitted(c);
            }
            ic.callbacks.clear();
            icloglock.spinLock();
            try {
                ic.offset = 0;
                ic.numLogops = 0;
                ic.bios = XlogIclog.NO_BIOS;
                ic.ioends = XlogIclog.NO_WORKS;
                ic.state = XlogIclog.State.ACTIVE;
                oldest = (oldest + 1) % iclogs.length;
            } finally {
                icloglock.spinUnlock();
            }
            flushWait.wakeUp();
        }
    }

    /**
     * Who completes the IO of the in-flight iclogs written no later than {@code writeSeq} (any of them, a
     * sound reading of "all of these must complete"): each bio not yet ended names its holders, then its
     * ioend work names who runs it. Read racily, whenever the watchdog asks.
     */
    void iclogWakers(WakerSink out, long writeSeq) {
        for (XlogIclog ic : iclogs) {
            if (!ic.inFlight() || ic.writeSeq > writeSeq) {
                continue;
            }
            Bio[] bios = ic.bios;
            WorkStruct[] ioends = ic.ioends;
            for (int i = 0; i < bios.length && i < ioends.length; i++) {
                if (!bios[i].ended()) {
                    bios[i].wakers(out);
                } else if (ioends[i].workBusy()) {
                    ioends[i].wakers(out);
                }
            }
        }
    }

    /** Who will unpin the items of every checkpoint not yet on disk (xfs_iunpin_wait()). */
    public Waitable unpinWakers() {
        return new Waitable() {
            @Override
            public String name() {
                return "xfs checkpoints of " + devName;
            }

            @Override
            public void wakers(WakerSink out) {
                cil.unpinWakers(out);
            }
        };
    }

    private void putBe32(long addr, int v) {
        mem.putInt(addr, LITTLE_ENDIAN ? Integer.reverseBytes(v) : v);
    }

    private static int roundUpToSector(int n) {
        return (n + Bio.SECTOR_SIZE - 1) & -Bio.SECTOR_SIZE;
    }

    // ---------------------------------------------------------------- counters and inspection

    public String devName() {
        return devName;
    }

    /** xc_push_work: the CIL push, xlog_cil_push_work, queued on {@link #cilWorkqueue()}. */
    public WorkStruct cilPushWork() {
        return cil.pushWork();
    }

    /** m_cil_workqueue, "xfs-cil/DEV". */
    public Workqueue cilWorkqueue() {
        return cil.cilWorkqueue();
    }

    /** m_log_workqueue, "xfs-log/DEV": log IO completion. */
    public Workqueue logWorkqueue() {
        return logWorkqueue;
    }

    /** Bytes in the CIL that trigger a background push (XLOG_CIL_SPACE_LIMIT scaled to this log). */
    public long xlogCilSpaceLimit() {
        return cil.spaceLimit();
    }

    /** Checkpoints xfs-cil has taken from the CIL to write into iclogs. */
    public long checkpointsPushed() {
        return cil.checkpointsPushed();
    }

    /** Iclogs submitted to the device. */
    public long iclogsWritten() {
        return iclogsWritten;
    }

    /** Sync log forces called. */
    public long forces() {
        return forces.get();
    }

    /** Sync log forces that found a checkpoint not yet on disk and waited for it. */
    public long forceWaits() {
        return forceWaits.get();
    }

    /** xs_log_noiclogs: times xfs-cil found every iclog busy and slept. */
    public long logNoiclogs() {
        return logNoiclogs;
    }

    /** Iclogs under IO or waiting for their completion callbacks. */
    public int iclogsUnderIo() {
        int n = 0;
        for (XlogIclog ic : iclogs) {
            if (ic.inFlight()) {
                n++;
            }
        }
        return n;
    }

    public int logbufs() {
        return iclogs.length;
    }

    /** l_curr_cycle: how many times the log has been written around, plus one. */
    public long currentCycle() {
        return currCycle;
    }

    /** l_curr_block: sector offset in the log region where the next iclog write starts. */
    public long currentBlock() {
        return currBlock;
    }

    public boolean unmounted() {
        return unmounted;
    }

    @Override
    public String toString() {
        return "xlog " + devName + " [" + logStart + ", +" + logSectors + ") " + iclogs.length + "x" + logbsize
                + " cycle " + currCycle + " block " + currBlock + (unmounted ? " unmounted" : "");
    }
}
