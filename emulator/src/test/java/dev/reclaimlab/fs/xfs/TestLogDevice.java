package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.block.Bio;
import dev.reclaimlab.block.BlockDevice;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Completion;
import dev.reclaimlab.locking.Mutex;
import dev.reclaimlab.locking.WaitQueue;
import dev.reclaimlab.mm.PhysMem;

import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * A memory-backed block device for log tests: submitBio hands the bio to the device's own kthread, which
 * copies the data into a byte array and ends the bio. The test can hold completions behind a gate and
 * make the kthread take a mutex before completing.
 */
final class TestLogDevice implements BlockDevice {
    /** One submitted write: where and how many sectors. */
    static final class Write {
        final long sector;
        final long sectors;

        Write(long sector, long sectors) {
            this.sector = sector;
            this.sectors = sectors;
        }

        @Override
        public String toString() {
            return sector + "+" + sectors;
        }
    }

    private final String name;
    private final long nrSectors;
    private final byte[] store;
    private final PhysMem mem;
    private final ConcurrentLinkedQueue<Bio> queue = new ConcurrentLinkedQueue<>();
    private final WaitQueue wq;
    private final Task worker;
    private final Semaphore submitted = new Semaphore(0);
    private final List<Write> writes = new CopyOnWriteArrayList<>();
    private volatile Completion gate;
    private volatile Mutex lockBeforeCompleting;
    private volatile int failWith;

    TestLogDevice(Kernel k, String name, long nrSectors) {
        this.name = name;
        this.nrSectors = nrSectors;
        this.store = new byte[Math.toIntExact(nrSectors << Bio.SECTOR_SHIFT)];
        this.mem = k.mm().mem();
        this.wq = new WaitQueue(name + " queue");
        this.worker = k.kthreadRun("kdev-" + name, this::worker);
    }

    Task worker() {
        return worker;
    }

    List<Write> writes() {
        return writes;
    }

    byte[] store() {
        return store;
    }

    /** Holds every completion from now on until {@link #releaseCompletions()}; the holder owes the release. */
    void holdCompletions(Task holder) {
        gate = new Completion(name + " held completions").expectWaker(holder);
    }

    void releaseCompletions() {
        Completion g = gate;
        if (g != null) {
            g.completeAll();
        }
    }

    /** The device kthread takes {@code m} before it completes each bio. */
    void lockBeforeCompleting(Mutex m) {
        lockBeforeCompleting = m;
    }

    /** Ends every later bio with {@code err} (a negative errno), like a failing disk. */
    void failBios(int err) {
        failWith = err;
    }

    /** Waits (on the test thread) until {@code n} more bios were submitted since the last call. */
    void awaitSubmitted(int n) throws InterruptedException {
        if (!submitted.tryAcquire(n, 10, TimeUnit.SECONDS)) {
            throw new AssertionError(name + ": " + n + " bios were not submitted; writes so far " + writes);
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long nrSectors() {
        return nrSectors;
    }

    @Override
    public void submitBio(Bio bio) {
        checkBio(bio);
        bio.setOwner(worker);
        writes.add(new Write(bio.sector(), bio.size() >> Bio.SECTOR_SHIFT));
        queue.add(bio);
        wq.wakeUp();
        submitted.release();
    }

    private void worker(Task self) {
        while (!self.kthreadShouldStop()) {
            wq.waitEventInterruptibleTimeout(() -> !queue.isEmpty() || self.kthreadShouldStop(),
                    TimeUnit.SECONDS.toNanos(1));
            for (Bio b = queue.poll(); b != null; b = queue.poll()) {
                complete(b);
            }
        }
    }

    private void complete(Bio b) {
        Completion g = gate;
        if (g != null) {
            g.waitForCompletion();
        }
        Mutex m = lockBeforeCompleting;
        if (m != null) {
            m.mutexLock();
        }
        try {
            int pos = Math.toIntExact(b.sector() << Bio.SECTOR_SHIFT);
            for (int i = 0; i < b.vcnt(); i++) {
                if (b.op() == Bio.Op.WRITE) {
                    mem.copyOut(mem.pageAddress(b.pfn(i)) + b.offset(i), store, pos, b.len(i));
                } else if (b.op() == Bio.Op.READ) {
                    mem.copyIn(mem.pageAddress(b.pfn(i)) + b.offset(i), store, pos, b.len(i));
                }
                pos += b.len(i);
            }
            b.bioEndio(failWith);
        } finally {
            if (m != null) {
                m.mutexUnlock();
            }
        }
    }
}
