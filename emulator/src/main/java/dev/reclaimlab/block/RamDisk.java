package dev.reclaimlab.block;

import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.mm.PhysMem;
import org.agrona.UnsafeApi;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A RAM disk (drivers/block/brd.c), "ramN". Its storage is native memory outside the kernel's budget: it
 * is the disk, not kernel memory, so filling it never causes reclaim. As 4.3's brd_make_request(), IO is
 * done and the bio ended in the submitter's context, before submitBio() returns. Storage is freed by a
 * kernel close hook, after every kthread stopped.
 */
public final class RamDisk implements BlockDevice {
    private final PhysMem mem;
    private final String name;
    private final long capacity;
    private final long nrSectors;
    // 0 once freed; written only at construction and in the close hook.
    private volatile long storage;
    private final AtomicLong nativeBytes = new AtomicLong();
    private final List<long[]> ioErrors = new CopyOnWriteArrayList<>();

    /** brd_alloc(): a zeroed disk of {@code capacityBytes} (whole sectors) named "ram{number}". */
    public RamDisk(Kernel kernel, int number, long capacityBytes) {
        this.name = "ram" + number;
        if (capacityBytes <= 0 || (capacityBytes & (Bio.SECTOR_SIZE - 1)) != 0) {
            throw new IllegalArgumentException("brd_alloc(" + name + "): capacity " + capacityBytes
                    + " bytes is not a positive number of " + Bio.SECTOR_SIZE + "-byte sectors");
        }
        this.mem = kernel.mm().mem();
        this.capacity = capacityBytes;
        this.nrSectors = capacityBytes >> Bio.SECTOR_SHIFT;
        long addr;
        try {
            addr = UnsafeApi.allocateMemory(capacityBytes);
        } catch (OutOfMemoryError e) {
            throw new IllegalStateException("brd_alloc(" + name + "): cannot allocate " + capacityBytes
                    + " bytes of native storage", e);
        }
        UnsafeApi.setMemory(addr, capacityBytes, (byte) 0);
        nativeBytes.addAndGet(capacityBytes);
        this.storage = addr;
        kernel.addCloseHook(this::brdFree);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long nrSectors() {
        return nrSectors;
    }

    /** Native bytes this disk holds (its ledger): the capacity until the kernel is closed, then 0. */
    public long nativeBytes() {
        return nativeBytes.get();
    }

    /**
     * Makes every later bio overlapping sectors [fromSector, toSector) end with -EIO without moving data,
     * a failing medium for tests.
     */
    public void injectIoError(long fromSector, long toSector) {
        if (fromSector < 0 || toSector <= fromSector || toSector > nrSectors) {
            throw new IllegalArgumentException(name + ": injectIoError(" + fromSector + ", " + toSector
                    + ") is not a non-empty sector range inside the disk's " + nrSectors + " sectors");
        }
        ioErrors.add(new long[] {fromSector, toSector});
    }

    /** Removes every injected error. */
    public void clearIoErrors() {
        ioErrors.clear();
    }

    /** brd_make_request(): copies the segments and ends the bio, in the submitting task. */
    @Override
    public void submitBio(Bio bio) {
        checkBio(bio);
        for (int i = 0; i < bio.vcnt(); i++) {
            mem.pageAddress(bio.pfn(i));
        }
        if (storage == 0) {
            throw new IllegalStateException(name + ": " + bio + " submitted after the disk's storage was freed");
        }
        bio.setOwner(Task.current());
        bio.bioEndio(brdDoBvecs(bio));
    }

    private int brdDoBvecs(Bio bio) {
        if (bio.op() == Bio.Op.FLUSH) {
            return 0;
        }
        long first = bio.sector();
        long end = first + (bio.size() >> Bio.SECTOR_SHIFT);
        for (long[] r : ioErrors) {
            if (first < r[1] && end > r[0]) {
                return -Errno.EIO;
            }
        }
        long base = storage;
        long pos = first << Bio.SECTOR_SHIFT;
        for (int i = 0; i < bio.vcnt(); i++) {
            int len = bio.len(i);
            if (pos < 0 || pos + len > capacity) {
                throw new IllegalStateException(name + ": " + bio + " segment " + i + " at byte " + pos
                        + " leaves the disk's " + capacity + " bytes");
            }
            long kaddr = mem.pageAddress(bio.pfn(i)) + bio.offset(i);
            if (bio.op() == Bio.Op.WRITE) {
                mem.copyToNative(kaddr, base + pos, len);
            } else {
                mem.copyFromNative(base + pos, kaddr, len);
            }
            pos += len;
        }
        return 0;
    }

    /** brd_free(): runs in Kernel.close() after every task stopped. */
    private void brdFree() {
        long addr = storage;
        if (addr != 0) {
            storage = 0;
            UnsafeApi.freeMemory(addr);
            nativeBytes.addAndGet(-capacity);
        }
    }

    @Override
    public String toString() {
        return name + " (" + capacity + " bytes, " + (storage == 0 ? "freed" : "live") + ")";
    }
}
