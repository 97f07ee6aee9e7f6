package dev.reclaimlab.fs;

import dev.reclaimlab.block.Bio;
import dev.reclaimlab.block.BlockDevice;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Completion;
import dev.reclaimlab.locking.WaitQueue;
import dev.reclaimlab.mm.PhysMem;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongPredicate;

/**
 * A memory-backed block device for filesystem tests: the medium is a Java array (it is the disk, not
 * kernel memory); bios are completed on the device's own kthread "memblk/NAME", which takes ownership
 * of each bio. {@link #closeGate} holds completions back; {@link #failReads}/{@link #failWrites} inject
 * -EIO for chosen sectors.
 */
public final class MemBlockDevice implements BlockDevice {
    private static final int EIO = 5;

    private final String name;
    private final byte[] medium;
    private final PhysMem mem;
    private final Kernel kernel;
    private final ConcurrentLinkedQueue<Bio> queue = new ConcurrentLinkedQueue<>();
    private final WaitQueue wait;
    private final Task worker;
    private volatile Completion gate;
    private volatile LongPredicate failReads = s -> false;
    private volatile LongPredicate failWrites = s -> false;
    public final AtomicLong reads = new AtomicLong();
    /** Bytes of read bios, in pages. */
    public final AtomicLong pagesRead = new AtomicLong();
    public final AtomicLong writes = new AtomicLong();
    /** Bios taken and not yet ended. */
    public final AtomicLong inFlight = new AtomicLong();

    public MemBlockDevice(Kernel kernel, String name, long bytes) {
        if (bytes <= 0 || bytes % Bio.SECTOR_SIZE != 0 || bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(name + ": size " + bytes + " is not a whole number of sectors below 2 GiB");
        }
        this.kernel = kernel;
        this.name = name;
        this.medium = new byte[(int) bytes];
        this.mem = kernel.mm().mem();
        this.wait = new WaitQueue("memblk " + name);
        this.worker = kernel.kthreadRun("memblk/" + name, this::work);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long nrSectors() {
        return medium.length >> Bio.SECTOR_SHIFT;
    }

    public Task worker() {
        return worker;
    }

    @Override
    public void submitBio(Bio bio) {
        checkBio(bio);
        inFlight.incrementAndGet();
        bio.setOwner(worker);
        queue.add(bio);
        wait.wakeUp();
    }

    /** Holds every completion (the device "hangs") until {@link #openGate}. */
    public void closeGate() {
        gate = new Completion("memblk " + name + " gate").expectWaker(kernel.currentTask());
    }

    public void openGate() {
        Completion g = gate;
        gate = null;
        if (g != null) {
            g.completeAll();
        }
        wait.wakeUp();
    }

    public void failReads(LongPredicate sectors) {
        failReads = sectors;
    }

    public void failWrites(LongPredicate sectors) {
        failWrites = sectors;
    }

    /** Bytes of the medium, for checking what reached the disk. */
    public byte[] readMedium(long offset, int len) {
        byte[] out = new byte[len];
        System.arraycopy(medium, (int) offset, out, 0, len);
        return out;
    }

    private void work(Task self) {
        while (!self.kthreadShouldStop()) {
            wait.waitEventInterruptibleTimeout(() -> !queue.isEmpty() || self.kthreadShouldStop(), -1);
            for (Bio bio; (bio = queue.poll()) != null; ) {
                Completion g = gate;
                if (g != null) {
                    g.waitForCompletion();
                }
                bio.bioEndio(doIo(bio));
                inFlight.decrementAndGet();
            }
        }
    }

    private int doIo(Bio bio) {
        long pos = bio.sector() << Bio.SECTOR_SHIFT;
        switch (bio.op()) {
            case FLUSH:
                return 0;
            case READ:
                reads.incrementAndGet();
                pagesRead.addAndGet(bio.size() >> 12);
                if (failReads.test(bio.sector())) {
                    return -EIO;
                }
                for (int i = 0; i < bio.vcnt(); i++) {
                    mem.copyIn(mem.pageAddress(bio.pfn(i)) + bio.offset(i), medium, (int) pos, bio.len(i));
                    pos += bio.len(i);
                }
                return 0;
            default:
                writes.incrementAndGet();
                if (failWrites.test(bio.sector())) {
                    return -EIO;
                }
                for (int i = 0; i < bio.vcnt(); i++) {
                    mem.copyOut(mem.pageAddress(bio.pfn(i)) + bio.offset(i), medium, (int) pos, bio.len(i));
                    pos += bio.len(i);
                }
                return 0;
        }
    }
}
