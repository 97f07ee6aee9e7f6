package dev.reclaimlab.block;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Throttle;
import dev.reclaimlab.locking.WaitQueue;
import org.jctools.queues.MpmcUnboundedXaddArrayQueue;

import java.util.ArrayList;
import java.util.List;

/**
 * A disk with a bandwidth (a stand-in for a 3.14 SCSI disk's request queue and its interrupt; the block
 * layer itself is not modelled beyond submit and completion): a {@link RamDisk}'s storage behind a request
 * queue that the device's own task ("sda irq", standing for the controller and its completion interrupt)
 * serves at {@code bytesPerSecond}, completing each batch of bios after the time the transfer takes. A RAM
 * disk ends every bio in the submitter, so writeback never piles up behind it; the seeds' filesystems sat on
 * real disks, where dirty data, writeback and a filesystem's fsync wait for the device.
 */
public final class QueuedDisk implements BlockDevice {
    private final RamDisk media;
    private final String name;
    private final long bytesPerSecond;
    private final MpmcUnboundedXaddArrayQueue<Bio> queue = new MpmcUnboundedXaddArrayQueue<>(256);
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
        this.irq = kernel.kthreadRun(name + " irq", this::serve);
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

    /** The request goes on the queue; the device's task owes its completion from now on. */
    @Override
    public void submitBio(Bio bio) {
        checkBio(bio);
        if (stopped) {
            media.submitBio(bio);
            return;
        }
        bio.setOwner(irq);
        queue.offer(bio);
        irqWait.wakeUp();
        if (stopped) {
            drainInline();
        }
    }

    /** After the device's task stopped: whatever is still queued completes here. */
    private void drainInline() {
        for (Bio b; (b = queue.poll()) != null; ) {
            media.submitBio(b);
        }
    }

    /** The controller: takes what is queued, spends the transfer time, ends the bios. */
    private void serve(Task self) {
        List<Bio> batch = new ArrayList<>();
        while (!self.kthreadShouldStop() || !queue.isEmpty()) {
            irqWait.waitEventInterruptibleTimeout(() -> !queue.isEmpty() || self.kthreadShouldStop(), -1);
            long bytes = 0;
            for (Bio b; (b = queue.poll()) != null; ) {
                batch.add(b);
                bytes += b.size();
            }
            if (batch.isEmpty()) {
                continue;
            }
            if (!self.kthreadShouldStop()) {
                transfer.throttle(bytes * 1_000_000_000L / bytesPerSecond);
            }
            for (Bio b : batch) {
                media.submitBio(b);
            }
            batch.clear();
        }
        stopped = true;
        drainInline();
    }
}
