package dev.reclaimlab.block;

import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelPanic;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.WorkStruct;
import dev.reclaimlab.kernel.Workqueue;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.SpinLock;
import dev.reclaimlab.mm.SchedMm;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The loop device of Linux 4.3 (drivers/block/loop.c with blk-mq, after aa4d86163e4 "block: loop: switch
 * to VFS ITER_BVEC"): "loopN" over a {@link LoopBackingFile}, served by the per-device workqueue
 * "kloopdN", allocated as 4.3's loop_set_fd() does: WQ_MEM_RECLAIM | WQ_HIGHPRI | WQ_UNBOUND, max_active 16
 * (4d4e41aef942 "block: loop: avoiding too many pending per work I/O"; 4.4's e03a3d7a94e2 replaced it
 * with a kthread worker). Its works run on the shared highpri unbound pool's kworkers, which the pool
 * starts on demand, or on the queue's rescuer, "kloopdN". Each read becomes its own work
 * ({@link #loopQueueReadWork}) and reads run in parallel; writes and flushes go on the device's write list,
 * which ONE write work ({@link #loopQueueWriteWork}) drains in submission order. That split is the seed's
 * deadlock: a read work reclaiming can wait for IO that only the write work can finish.
 *
 * <p>A bio waiting for its work is owed by whoever that work names when the watchdog asks (every worker
 * of the pool and, while worker creation stalls, the rescuer); once a worker takes it, by that worker.
 *
 * <p>With {@link #LOOP_MEMALLOC_NOIO} each work runs under memalloc_noio_save(), so every allocation in
 * the backing file's path loses __GFP_IO and __GFP_FS.
 */
public final class LoopDevice implements BlockDevice {
    /** The loop worker runs under memalloc_noio, as later kernels run it with PF_MEMALLOC_NOIO. */
    public static final Fix LOOP_MEMALLOC_NOIO = Fix.declare("loop_memalloc_noio",
            "loop workers run each work under memalloc_noio_save(): the backing file's allocations cannot"
                    + " recurse into fs or IO reclaim",
            "argued for in the seed 001 thread (Andrew Morton: pass the gfp via the task_struct); later loop"
                    + " workers run with PF_MEMALLOC_NOIO", null);
    /** loop_set_fd()'s max_active for kloopd%d in 4.3. */
    public static final int KLOOPD_MAX_ACTIVE = 16;
    private static final LockClassKey LO_LOCK = new LockClassKey("&lo->lo_lock");

    private final Kernel kernel;
    private final String name;
    private final LoopBackingFile file;
    private final long nrSectors;
    private final Workqueue wq;
    private final WorkStruct writeWork;
    private final SpinLock loLock;
    // Under loLock.
    private final ArrayDeque<Bio> writeCmdHead = new ArrayDeque<>();
    private boolean writeStarted;
    private Task writeWorker;
    private volatile boolean cleared;

    /** loop_add() + loop_set_fd(): binds {@code file} and allocates "kloopd{number}" as 4.3 does. */
    public LoopDevice(Kernel kernel, int number, LoopBackingFile file) {
        this(kernel, number, file, KLOOPD_MAX_ACTIVE);
    }

    /** As {@link #LoopDevice(Kernel, int, LoopBackingFile)} with another max_active, for tests. */
    public LoopDevice(Kernel kernel, int number, LoopBackingFile file, int maxActive) {
        this.name = "loop" + number;
        if (file == null) {
            throw new IllegalArgumentException("loop_set_fd(" + name + "): no backing file");
        }
        if (maxActive < 1) {
            throw new IllegalArgumentException("loop_set_fd(" + name + "): max_active " + maxActive + " must be >= 1");
        }
        long size = file.loopSize();
        if (size < 0) {
            throw new IllegalArgumentException("loop_set_fd(" + name + "): backing file size " + size + " is negative");
        }
        this.kernel = kernel;
        this.file = file;
        this.nrSectors = size >> Bio.SECTOR_SHIFT;
        this.loLock = new SpinLock(name + "->lo_lock", LO_LOCK);
        this.wq = Workqueue.allocWorkqueue(kernel, "kloopd" + number,
                Workqueue.WQ_MEM_RECLAIM | Workqueue.WQ_HIGHPRI | Workqueue.WQ_UNBOUND, maxActive);
        this.writeWork = new WorkStruct("loop_queue_write_work", this::loopQueueWriteWork);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long nrSectors() {
        return nrSectors;
    }

    public LoopBackingFile backingFile() {
        return file;
    }

    /** The kloopd workqueue of this device. */
    public Workqueue workqueue() {
        return wq;
    }

    /** The worker draining the write list now, or null. */
    public Task writeWorker() {
        loLock.spinLock();
        try {
            return writeWorker;
        } finally {
            loLock.spinUnlock();
        }
    }

    /** submit_bio() reaching loop_queue_rq(). */
    @Override
    public void submitBio(Bio bio) {
        checkBio(bio);
        if (cleared) {
            throw new IllegalStateException(name + ": " + bio + " submitted after loop_clr_fd()");
        }
        if (BlkCore.shouldFailRequest(kernel, this, bio)) {
            return;
        }
        loopQueueRq(bio);
    }

    /**
     * loop_queue_rq(): a read gets its own work; a write or flush joins the write list, and the write work
     * is queued unless it already runs. Owners are declared before the bio becomes visible to a worker: the
     * bio's work, which names its worker while it runs (the write work will drain the list before it ends)
     * and whoever can run it while it is queued.
     */
    private void loopQueueRq(Bio bio) {
        if (bio.op() == Bio.Op.READ) {
            WorkStruct readWork = new WorkStruct("loop_queue_read_work", () -> loopQueueReadWork(bio));
            bio.setOwnersFrom(readWork);
            wq.queueWork(readWork);
            return;
        }
        boolean needSched;
        loLock.spinLock();
        try {
            needSched = !writeStarted;
            writeStarted = true;
            bio.setOwnersFrom(writeWork);
            writeCmdHead.addLast(bio);
        } finally {
            loLock.spinUnlock();
        }
        if (needSched) {
            wq.queueWork(writeWork);
        }
    }

    /** loop_queue_read_work(). */
    private void loopQueueReadWork(Bio bio) {
        boolean noio = kernel.config().has(LOOP_MEMALLOC_NOIO);
        int saved = noio ? SchedMm.memallocNoioSave() : 0;
        try {
            bio.setOwner(Task.current());
            loopHandleCmd(bio);
        } finally {
            if (noio) {
                SchedMm.memallocNoioRestore(saved);
            }
        }
    }

    /** loop_queue_write_work(): drains the write list in order until it stays empty. */
    private void loopQueueWriteWork() {
        Task self = Task.current();
        boolean noio = kernel.config().has(LOOP_MEMALLOC_NOIO);
        int saved = noio ? SchedMm.memallocNoioSave() : 0;
        try {
            List<Bio> cmds = new ArrayList<>();
            loLock.spinLock();
            writeWorker = self;
            for (;;) {
                // list_splice_init(): this worker now holds every bio on the list.
                for (Bio b = writeCmdHead.pollFirst(); b != null; b = writeCmdHead.pollFirst()) {
                    b.setOwner(self);
                    cmds.add(b);
                }
                loLock.spinUnlock();
                for (Bio b : cmds) {
                    loopHandleCmd(b);
                }
                cmds.clear();
                loLock.spinLock();
                if (writeCmdHead.isEmpty()) {
                    writeStarted = false;
                    writeWorker = null;
                    break;
                }
            }
            loLock.spinUnlock();
        } finally {
            if (noio) {
                SchedMm.memallocNoioRestore(saved);
            }
        }
    }

    /**
     * loop_handle_cmd(): does the IO and ends the bio with the backing file's errno. A backing file that
     * throws is an oops, but the bio still ends (-EIO) so its submitter and the write list are not stuck.
     */
    private void loopHandleCmd(Bio bio) {
        int ret;
        try {
            ret = doReqFilebacked(bio);
        } catch (KernelPanic p) {
            throw p;
        } catch (RuntimeException e) {
            kernel.printk("loop: " + name + ": backing file failed on " + bio + ": " + e);
            kernel.oops(e);
            ret = -Errno.EIO;
        }
        bio.bioEndio(ret);
    }

    /** do_req_filebacked(). */
    private int doReqFilebacked(Bio bio) {
        long pos = bio.sector() << Bio.SECTOR_SHIFT;
        switch (bio.op()) {
            case FLUSH:
                return checked(file.loopFsync(), "loopFsync");
            case WRITE:
                return loWriteSimple(bio, pos);
            default:
                return loReadSimple(bio, pos);
        }
    }

    /** lo_write_simple(): lo_write_bvec() per segment, stopping at the first error. */
    private int loWriteSimple(Bio bio, long pos) {
        for (int i = 0; i < bio.vcnt(); i++) {
            int ret = checked(file.loopWriteIter(pos, bio.pfn(i), bio.offset(i), bio.len(i)), "loopWriteIter");
            if (ret < 0) {
                return ret;
            }
            pos += bio.len(i);
        }
        return 0;
    }

    /** lo_read_simple(): vfs_iter_read() per segment, stopping at the first error. */
    private int loReadSimple(Bio bio, long pos) {
        for (int i = 0; i < bio.vcnt(); i++) {
            int ret = checked(file.loopReadIter(pos, bio.pfn(i), bio.offset(i), bio.len(i)), "loopReadIter");
            if (ret < 0) {
                return ret;
            }
            pos += bio.len(i);
        }
        return 0;
    }

    private int checked(int ret, String call) {
        if (ret > 0) {
            throw new IllegalStateException(name + ": backing file " + call + " returned " + ret
                    + "; it must return 0 or a negative errno");
        }
        return ret;
    }

    /** loop_clr_fd(): finishes queued IO and stops kloopd; later submissions throw. */
    public void loopClrFd() {
        cleared = true;
        wq.destroyWorkqueue();
    }

    @Override
    public String toString() {
        return name + " (" + nrSectors + " sectors, " + wq.name() + ")";
    }
}
