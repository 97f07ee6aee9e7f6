package dev.reclaimlab.block.request;

import dev.reclaimlab.fs.buffer.BufferHead;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.Sleep;
import dev.reclaimlab.locking.SpinLock;
import dev.reclaimlab.locking.WaitKind;
import dev.reclaimlab.locking.WaitList;
import dev.reclaimlab.locking.Waitable;
import dev.reclaimlab.locking.WakerSink;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * drivers/block/ll_rw_blk.c as in Linux 2.2: ll_rw_block() and make_request() over one global pool of
 * NR_REQUEST requests (reads may take all, writes two thirds, loop and nbd half of that), the plug that
 * holds a disk's first request back until somebody runs tq_disk, and end_request(). Every submitter waits
 * in __get_request_wait() for any request to come back, running tq_disk first as 2.2 does.
 */
public final class Blk22 {
    public static final int READ = 0;
    public static final int WRITE = 1;
    /** include/linux/blk.h (2.2). */
    public static final int NR_REQUEST = 64;

    private static final LockClassKey IO_REQUEST_LOCK = new LockClassKey("io_request_lock");

    private final Kernel kernel;
    private final Request[] allRequests = new Request[NR_REQUEST];
    private final SpinLock ioRequestLock = new SpinLock("io_request_lock", IO_REQUEST_LOCK);
    private final WaitList waitForRequest = new WaitList();
    private final ConcurrentLinkedQueue<BlockDriver22> tqDisk = new ConcurrentLinkedQueue<>();
    private int prevFound;
    private final AtomicLong requestWaits = new AtomicLong();

    public Blk22(Kernel kernel) {
        this.kernel = kernel;
        for (int i = 0; i < NR_REQUEST; i++) {
            allRequests[i] = new Request(i);
        }
    }

    public Kernel kernel() {
        return kernel;
    }

    SpinLock ioRequestLock() {
        return ioRequestLock;
    }

    /** ll_rw_block(): starts IO on each buffer of one device; the buffers' end_io reports the result. */
    public void llRwBlock(int rw, BufferHead... bhs) {
        for (BufferHead bh : bhs) {
            if (bh == null) {
                continue;
            }
            BlockDriver22 dev = bh.dev();
            if (dev == null) {
                throw new IllegalArgumentException("ll_rw_block: " + bh + " has no device (a free buffer)");
            }
            if (bh.size() != dev.blockSize()) {
                throw new IllegalArgumentException("ll_rw_block: device " + dev.name() + ": only " + dev.blockSize()
                        + "-char blocks implemented (" + bh + ")");
            }
            bh.setReq();
            makeRequest(dev, rw, bh);
        }
    }

    private void makeRequest(BlockDriver22 dev, int rw, BufferHead bh) {
        // "Uhhuh.. Nasty dead-lock possible here..": somebody else is doing IO on it; the caller waits.
        if (!bh.tryLockBuffer()) {
            return;
        }
        int count = bh.size() >> 9;
        long sector = bh.blocknr() * count;
        if ((bh.blocknr() + 1) * bh.size() > dev.sizeBytes()) {
            kernel.printk("attempt to access beyond end of device " + dev.name() + ": rw=" + rw + ", block="
                    + bh.blocknr());
            bh.endIo(false);
            return;
        }
        int maxReq;
        if (rw == READ) {
            if (bh.uptodate()) {
                bh.endIo(true);
                return;
            }
            maxReq = NR_REQUEST;
        } else {
            if (!bh.dirty()) {
                bh.endIo(bh.uptodate());
                return;
            }
            maxReq = NR_REQUEST * 2 / 3;
        }
        if (dev.isNbd()) {
            maxReq >>= 1;
        }
        Request req = getRequestWait(maxReq);
        req.cmd = rw;
        req.errors = 0;
        req.dev = dev;
        req.sector = sector;
        req.nrSectors = count;
        req.bh = bh;
        req.bio = null;
        req.setOwner(Task.current());
        bh.setRequest(req);
        // add_request(): the buffer is clean once it is queued.
        if (rw == WRITE) {
            bh.markClean();
        }
        dev.addRequest(req);
    }

    /** get_request(): a free slot among the first {@code n}, searched downwards from the last one found. */
    private Request getRequest(int n) {
        ioRequestLock.spinLock();
        try {
            int start = prevFound < n ? prevFound : n - 1;
            int i = start;
            do {
                Request r = allRequests[i];
                if (!r.active) {
                    r.active = true;
                    prevFound = i;
                    return r;
                }
                i = i == 0 ? n - 1 : i - 1;
            } while (i != start);
            return null;
        } finally {
            ioRequestLock.spinUnlock();
        }
    }

    /** get_request_wait() and __get_request_wait(). */
    private Request getRequestWait(int n) {
        Request r = getRequest(n);
        if (r != null) {
            return r;
        }
        requestWaits.incrementAndGet();
        Task t = Task.current();
        Request[] got = new Request[1];
        runTqDisk();
        Sleep.sleep(t, new PoolWait(n), WaitKind.WAITQUEUE, Task.TASK_UNINTERRUPTIBLE, -1, waitForRequest, () -> {
            got[0] = getRequest(n);
            return got[0] != null;
        });
        return got[0];
    }

    /** end_request(): each buffer's b_end_io, then the slot goes back and wait_for_request wakes. */
    public void endRequest(Request req, boolean uptodate) {
        BufferHead bh = req.bh;
        req.bh = null;
        req.bio = null;
        req.setOwner(null);
        bh.setRequest(null);
        bh.endIo(uptodate);
        req.dev = null;
        req.active = false;
        waitForRequest.wakeAll();
    }

    /** queue_task(&dev->plug_tq, &tq_disk). */
    void plug(BlockDriver22 dev) {
        tqDisk.add(dev);
    }

    /** run_task_queue(&tq_disk): unplugs every plugged device, in the caller's context. */
    public void runTqDisk() {
        for (BlockDriver22 d = tqDisk.poll(); d != null; d = tqDisk.poll()) {
            d.unplug();
        }
    }

    /** Requests in use now. */
    public int activeRequests() {
        int n = 0;
        for (Request r : allRequests) {
            if (r.active) {
                n++;
            }
        }
        return n;
    }

    /** How often a submitter had to sleep for a free request. */
    public long requestWaits() {
        return requestWaits.get();
    }

    /** The wait for any of the first n requests: whoever ends one of them ends it. */
    private final class PoolWait implements Waitable {
        private final int n;

        PoolWait(int n) {
            this.n = n;
        }

        @Override
        public String name() {
            return "wait_for_request (first " + n + " of all_requests)";
        }

        @Override
        public void wakers(WakerSink out) {
            for (int i = 0; i < n; i++) {
                Request r = allRequests[i];
                if (r.active) {
                    r.wakers(out);
                }
            }
        }
    }
}
