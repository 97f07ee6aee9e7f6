package dev.reclaimlab.block;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Throttle;
import dev.reclaimlab.locking.WaitQueue;
import dev.reclaimlab.mm.BackingDevInfo;

/**
 * A disk with a bandwidth, as a 3.14 SCSI disk is seen from the block layer: a {@link RamDisk}'s storage
 * behind a {@link RequestQueue} (3.14's request allocation, congestion of the queue's bdi and back merging),
 * served one request at a time by the device's own task ("sda irq", standing for the controller and its
 * completion interrupt) at {@code bytesPerSecond}: a request ends after the time its transfer takes. A RAM
 * disk ends every bio in the submitter, so writeback never piles up behind it; the seeds' filesystems sat on
 * real disks, where dirty data, writeback and a filesystem's fsync wait for the device, and where a queue
 * full of writeback congests the disk's bdi.
 */
public final class QueuedDisk implements BlockDevice {
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

    /** The controller: takes the oldest queued request, spends its transfer time, ends it. */
    private void serve(Task self) {
        while (!self.kthreadShouldStop() || queue.hasQueued()) {
            irqWait.waitEventInterruptibleTimeout(() -> queue.hasQueued() || self.kthreadShouldStop(), -1);
            RequestQueue.Request rq = queue.blkFetchRequest();
            if (rq == null) {
                continue;
            }
            if (!self.kthreadShouldStop()) {
                transfer.throttle(rq.bytes() * 1_000_000_000L / bytesPerSecond);
            }
            endRequest(rq);
        }
        stopped = true;
        queue.blkCleanupQueue();
        drainInline();
    }
}
