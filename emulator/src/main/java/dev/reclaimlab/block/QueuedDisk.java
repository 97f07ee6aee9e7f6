package dev.reclaimlab.block;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Throttle;
import dev.reclaimlab.locking.WaitQueue;
import dev.reclaimlab.mm.BackingDevInfo;

import java.util.ArrayList;
import java.util.List;

/**
 * A disk with a bandwidth, as a 3.14 SCSI disk is seen from the block layer: a {@link RamDisk}'s storage
 * behind a {@link RequestQueue} (3.14's request allocation, congestion of the queue's bdi and back merging),
 * served by the device's own task ("sda irq", standing for the controller and its completion interrupt) at
 * {@code bytesPerSecond}: the requests it holds end after the time their transfer takes. A RAM disk ends
 * every bio in the submitter, so writeback never piles up behind it; the seeds' filesystems sat on real
 * disks, where dirty data, writeback and a filesystem's fsync wait for the device, and where a queue full of
 * writeback congests the disk's bdi.
 */
public final class QueuedDisk implements BlockDevice {
    /**
     * Requests the controller has in hand at once: an AHCI port's NCQ tags (ATA_MAX_QUEUE - 1 = 31 in
     * libata). They complete together after their summed transfer time, which also keeps the emulated
     * bandwidth exact when requests are small.
     */
    static final int QUEUE_DEPTH = 31;
    private final RamDisk media;
    private final String name;
    private final long bytesPerSecond;
    private final BackingDevInfo bdi;
    private final RequestQueue queue;
    private final WaitQueue irqWait;
    private final Throttle transfer;
    private final Task irq;
    /** The device's task has stopped (the kernel is closing): bios complete in their submitter, as brd's do. */
    private volatile boolean stopped;

    public QueuedDisk(Kernel kernel, String name, long capacityBytes, long bytesPerSecond) {
        if (bytesPerSecond <= 0) {
            throw new IllegalArgumentException(name + ": bandwidth " + bytesPerSecond + " B/s is not positive");
        }
        this.media = new RamDisk(kernel, 0, capacityBytes);
        this.name = name;
        this.bytesPerSecond = bytesPerSecond;
        this.irqWait = new WaitQueue(name + " request queue");
        this.transfer = new Throttle(name + " transfer");
        // blk_alloc_queue(): the queue's bdi is the one every filesystem on the disk writes through.
        this.bdi = kernel.mm().bdiCreate(name);
        this.queue = new RequestQueue(kernel, name, bdi, irqWait::wakeUp);
        this.irq = kernel.kthreadRun(name + " irq", this::serve);
        queue.expectDriver(irq);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long nrSectors() {
        return media.nrSectors();
    }

    /** The storage, for tests that fail it (RamDisk.injectIoError). */
    public RamDisk media() {
        return media;
    }

    /** q: its counts, thresholds and sysfs knobs. */
    public RequestQueue queue() {
        return queue;
    }

    /** blk_get_backing_dev_info(): the request queue's bdi. */
    @Override
    public BackingDevInfo blkGetBackingDevInfo() {
        return bdi;
    }

    /** The request goes on the queue (perhaps after sleeping for a free request); the device's task owes it. */
    @Override
    public void submitBio(Bio bio) {
        checkBio(bio);
        if (stopped) {
            media.submitBio(bio);
            return;
        }
        bio.setOwner(irq);
        if (!queue.blkQueueBio(bio)) {
            media.submitBio(bio);
            return;
        }
        if (stopped) {
            drainInline();
        }
    }

    /** After the device's task stopped: whatever is still queued completes here. */
    private void drainInline() {
        for (RequestQueue.Request rq; (rq = queue.blkFetchRequest()) != null; ) {
            endRequest(rq);
        }
    }

    /** blk_end_request_all(): each bio of the request ends, then the request is freed. */
    private void endRequest(RequestQueue.Request rq) {
        try {
            for (Bio b : rq.bios()) {
                media.submitBio(b);
            }
        } finally {
            queue.blkFinishRequest(rq);
        }
    }

    /**
     * The controller: takes up to {@link #QUEUE_DEPTH} queued requests, spends their transfer time, ends
     * them. Dispatched requests take no more bios; the rest stay mergeable in the queue meanwhile.
     */
    private void serve(Task self) {
        List<RequestQueue.Request> dispatched = new ArrayList<>(QUEUE_DEPTH);
        while (!self.kthreadShouldStop() || queue.hasQueued()) {
            irqWait.waitEventInterruptibleTimeout(() -> queue.hasQueued() || self.kthreadShouldStop(), -1);
            long bytes = 0;
            for (RequestQueue.Request rq; dispatched.size() < QUEUE_DEPTH && (rq = queue.blkFetchRequest()) != null; ) {
                dispatched.add(rq);
                bytes += rq.bytes();
            }
            if (dispatched.isEmpty()) {
                continue;
            }
            if (!self.kthreadShouldStop()) {
                transfer.throttle(bytes * 1_000_000_000L / bytesPerSecond);
            }
            for (RequestQueue.Request rq : dispatched) {
                endRequest(rq);
            }
            dispatched.clear();
        }
        stopped = true;
        queue.blkCleanupQueue();
        drainInline();
    }
}
