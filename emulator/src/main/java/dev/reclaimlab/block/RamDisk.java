package dev.reclaimlab.block;

import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.mm.NativeRegion;
import dev.reclaimlab.mm.PhysMem;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A RAM disk (drivers/block/brd.c), "ramN". Its storage is a {@link NativeRegion} outside the kernel's
 * budget: it is the disk, not kernel memory, so filling it never causes reclaim. As 4.3's
 * brd_make_request(), IO is done and the bio ended in the submitter's context, before submitBio()
 * returns; every bio is ended, with -EIO if its copy failed, so no submitter waits for ever. Storage is
 * freed by a kernel close hook, after every kthread stopped.
 */
public final class RamDisk implements BlockDevice {
    private final Kernel kernel;
    private final PhysMem mem;
    private final String name;
    /** Who a refused segment names, built once: submit runs for every bio. */
    private final String submitWho;
    private final long capacity;
    private final long nrSectors;
    private final NativeRegion storage;
    private final AtomicLong nativeBytes = new AtomicLong();
    private final List<long[]> ioErrors = new CopyOnWriteArrayList<>();

    /** brd_alloc(): a zeroed disk of {@code capacityBytes} (whole sectors) named "ram{number}". */
    public RamDisk(Kernel kernel, int number, long capacityBytes) {
        this.name = "ram" + number;
        this.submitWho = name + ": submit_bio";
        if (capacityBytes <= 0 || (capacityBytes & (Bio.SECTOR_SIZE - 1)) != 0) {
            throw new IllegalArgumentException("brd_alloc(" + name + "): capacity " + capacityBytes
                    + " bytes is not a positive number of " + Bio.SECTOR_SIZE + "-byte sectors");
        }
        this.kernel = kernel;
        this.mem = kernel.mm().mem();
        this.capacity = capacityBytes;
        this.nrSectors = capacityBytes >> Bio.SECTOR_SHIFT;
        this.storage = NativeRegion.allocate(name, capacityBytes, nativeBytes);
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
            kernel.mm().pageAlloc().checkPageInUse(bio.pfn(i), submitWho);
        }
        if (storage.freed()) {
            throw new IllegalStateException(name + ": " + bio + " submitted after the disk's storage was freed");
        }
        if (BlkCore.shouldFailRequest(kernel, this, bio)) {
            return;
        }
        bio.setOwner(Task.current());
        int err;
        try {
            err = brdDoBvecs(bio);
        } catch (RuntimeException e) {
            // A copy that throws is a bug (submit checked the bio), but its submitter must not wait for ever.
            kernel.printk("blk_update_request: I/O error, dev " + name + ", sector " + bio.sector() + ": " + e);
            kernel.oops(e);
            err = -Errno.EIO;
        }
        bio.bioEndio(err);
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
        long pos = first << Bio.SECTOR_SHIFT;
        for (int i = 0; i < bio.vcnt(); i++) {
            int len = bio.len(i);
            long kaddr = mem.pageAddress(bio.pfn(i)) + bio.offset(i);
            if (bio.op() == Bio.Op.WRITE) {
                mem.copyToNative(kaddr, storage, pos, len);
            } else {
                mem.copyFromNative(storage, pos, kaddr, len);
            }
            pos += len;
        }
        return 0;
    }

    /** brd_free(): runs in Kernel.close() after every task stopped. */
    private void brdFree() {
        if (!storage.freed()) {
            storage.free();
        }
    }

    /** Reads {@code len} bytes of the medium at {@code byteOffset} without IO, as a tool reads /dev/ram0. */
    public void peek(long byteOffset, byte[] dst, int off, int len) {
        storage.copyOut(byteOffset, dst, off, len);
    }

    @Override
    public String toString() {
        return name + " (" + capacity + " bytes, " + (storage.freed() ? "freed" : "live") + ")";
    }
}
