package dev.reclaimlab.block.request;

import dev.reclaimlab.block.Bio;
import dev.reclaimlab.block.RamDisk;
import dev.reclaimlab.fs.buffer.BufferHead;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.WaitQueue;
import dev.reclaimlab.mm.PhysMem;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * A local disk as a Linux 2.2 IDE driver looks to ll_rw_blk.c ("hda1"): the first request to an idle
 * disk plugs it, requests queue behind the plug, and tq_disk starts them. The medium is a {@link RamDisk}
 * outside the kernel's memory budget. Without a service time the task that starts a request moves its
 * data and ends it at once; with one, the disk's worker ("hda2-irq") serves started requests in order,
 * each after the service time, and plays the interrupt that ends it, so a task waiting for local IO
 * names a task that will run again by itself, and a request takes as long as a 1999 disk's.
 */
public final class IdeDisk extends BlockDriver22 {
    private final RamDisk medium;
    // current_request behind the plug; under io_request_lock.
    private final List<Request> queue = new ArrayList<>();
    private boolean plugged;
    private final long serviceNanos;
    private final ConcurrentLinkedQueue<Request> started = new ConcurrentLinkedQueue<>();
    private final WaitQueue irqWait;
    private final Task worker;
    // Set when the worker has exited: later requests end in their starter, as without a service time.
    private volatile boolean workerGone;

    public IdeDisk(Blk22 blk, String name, RamDisk medium, int blockSize) {
        this(blk, name, medium, blockSize, 0);
    }

    /** A disk whose every request takes {@code serviceMicros} (0: ends when started). */
    public IdeDisk(Blk22 blk, String name, RamDisk medium, int blockSize, long serviceMicros) {
        super(blk, name, blockSize, medium.nrSectors() << Bio.SECTOR_SHIFT);
        if (serviceMicros < 0) {
            throw new IllegalArgumentException(name + ": service time " + serviceMicros + " us is negative");
        }
        this.medium = medium;
        this.serviceNanos = TimeUnit.MICROSECONDS.toNanos(serviceMicros);
        if (serviceNanos > 0) {
            irqWait = new WaitQueue(name + " request queue");
            worker = blk.kernel().kthreadRun(name + "-irq", 0, this::irq);
            irqWait.expectWaker(worker);
        } else {
            irqWait = null;
            worker = null;
        }
    }

    public RamDisk medium() {
        return medium;
    }

    @Override
    public boolean isNbd() {
        return false;
    }

    @Override
    protected void addRequest(Request req) {
        blk.ioRequestLock().spinLock();
        try {
            if (queue.isEmpty() && !plugged) {
                plugged = true;
                blk.plug(this);
            }
            req.setPlugged();
            queue.add(req);
        } finally {
            blk.ioRequestLock().spinUnlock();
        }
    }

    @Override
    protected void unplug() {
        List<Request> go;
        blk.ioRequestLock().spinLock();
        try {
            plugged = false;
            go = new ArrayList<>(queue);
            queue.clear();
        } finally {
            blk.ioRequestLock().spinUnlock();
        }
        for (Request r : go) {
            start(r);
        }
    }

    /** The request function: hands the buffer's bytes to the medium, now or through the worker. */
    private void start(Request r) {
        BufferHead bh = r.bh();
        int pfn = bh.pfn();
        int off = (int) (bh.data() & (PhysMem.PAGE_SIZE - 1));
        Bio bio = new Bio(r.cmd() == Blk22.READ ? Bio.Op.READ : Bio.Op.WRITE, r.sector(), 1);
        bio.addPage(pfn, bh.size(), off);
        bio.setEndIo(b -> blk.endRequest(r, b.status() == 0));
        if (worker == null) {
            r.bio = bio;
            medium.submitBio(bio);
            return;
        }
        bio.setOwner(worker);
        r.bio = bio;
        started.add(r);
        irqWait.wakeUp();
        if (workerGone) {
            drain();
        }
    }

    private void drain() {
        for (Request q = started.poll(); q != null; q = started.poll()) {
            medium.submitBio(q.bio);
        }
    }

    /** The disk and its interrupt: each started request in order, after the service time. */
    private void irq(Task self) {
        WaitQueue seek = new WaitQueue(name() + " seek");
        for (;;) {
            Request r = started.poll();
            if (r == null) {
                if (self.kthreadShouldStop()) {
                    workerGone = true;
                    drain();
                    return;
                }
                irqWait.waitEventInterruptibleTimeout(() -> !started.isEmpty() || self.kthreadShouldStop(),
                        TimeUnit.SECONDS.toNanos(1));
                continue;
            }
            if (!self.kthreadShouldStop()) {
                seek.waitEventInterruptibleTimeout(self::kthreadShouldStop, serviceNanos);
            }
            medium.submitBio(r.bio);
        }
    }
}
