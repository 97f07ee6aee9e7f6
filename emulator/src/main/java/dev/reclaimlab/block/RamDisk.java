package dev.reclaimlab.block;

import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.mm.NativeRegion;
import dev.reclaimlab.mm.PhysMem;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A RAM disk (drivers/block/brd.c), "ramN". Its storage is outside the kernel's budget: it is the disk, not
 * kernel memory, so filling it never causes reclaim. As brd, it is sparse: a chunk of {@link #CHUNK_SIZE}
 * bytes (a {@link NativeRegion}) is allocated, zeroed, when a write first reaches it (brd_insert_page()),
 * and a read of a chunk never written copies zeros (copy_from_brd()), so a large disk costs only what was
 * written and takes no time to set up. As 4.3's brd_make_request(), IO is done and the bio ended in the
 * submitter's context, before submitBio() returns; every bio is ended, with -EIO if its copy failed, so no
 * submitter waits for ever. Storage is freed by a kernel close hook, after every kthread stopped.
 */
public final class RamDisk implements BlockDevice {
    private final Kernel kernel;
    private final PhysMem mem;
    private final String name;
    /** Who a refused segment names, built once: submit runs for every bio. */
    private final String submitWho;
    private final long capacity;
    private final long nrSectors;
    /** brd's unit is a page; 64 KiB chunks keep the table small for disks of hundreds of MiB. */
    public static final int CHUNK_SIZE = 64 << 10;
    private static final int CHUNK_SHIFT = 16;
    // brd_pages: installed once by the first write that reaches each, never replaced until brdFree().
    private final AtomicReferenceArray<NativeRegion> chunks;
    private volatile boolean freed;
    private final AtomicLong nativeBytes = new AtomicLong();
    private final List<long[]> ioErrors = new CopyOnWriteArrayList<>();

    /** brd_alloc(): a disk of {@code capacityBytes} (whole sectors) named "ram{number}" that reads as zeros. */
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
        long nrChunks = (capacityBytes + CHUNK_SIZE - 1) >> CHUNK_SHIFT;
        if (nrChunks > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("brd_alloc(" + name + "): capacity " + capacityBytes + " bytes is"
                    + " more than " + ((long) Integer.MAX_VALUE << CHUNK_SHIFT) + " bytes");
        }
        this.chunks = new AtomicReferenceArray<>((int) nrChunks);
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

    /** Native bytes this disk holds (its ledger): the chunks written so far, 0 once the kernel is closed. */
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
        if (freed) {
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
        boolean write = bio.op() == Bio.Op.WRITE;
        for (int i = 0; i < bio.vcnt(); i++) {
            long kaddr = mem.pageAddress(bio.pfn(i)) + bio.offset(i);
            for (int left = bio.len(i); left > 0; ) {
                int c = (int) (pos >>> CHUNK_SHIFT);
                int off = (int) (pos & (CHUNK_SIZE - 1));
                int n = Math.min(left, CHUNK_SIZE - off);
                NativeRegion chunk = write ? brdInsertChunk(c) : chunks.get(c);
                if (write) {
                    mem.copyToNative(kaddr, chunk, off, n);
                } else if (chunk != null) {
                    mem.copyFromNative(chunk, off, kaddr, n);
                } else {
                    mem.memset(kaddr, 0, n);
                }
                kaddr += n;
                pos += n;
                left -= n;
            }
        }
        return 0;
    }

    /** brd_insert_page(): chunk {@code c}, allocated zeroed if no write reached it yet; one winner per chunk. */
    private NativeRegion brdInsertChunk(int c) {
        NativeRegion chunk = chunks.get(c);
        if (chunk != null) {
            return chunk;
        }
        long start = (long) c << CHUNK_SHIFT;
        NativeRegion fresh = NativeRegion.allocate(name + " chunk " + c, Math.min(CHUNK_SIZE, capacity - start),
                nativeBytes);
        if (chunks.compareAndSet(c, null, fresh)) {
            return fresh;
        }
        fresh.free();
        return chunks.get(c);
    }

    /** brd_free(): runs in Kernel.close() after every task stopped. */
    private void brdFree() {
        if (freed) {
            return;
        }
        freed = true;
        for (int c = 0; c < chunks.length(); c++) {
            NativeRegion chunk = chunks.getAndSet(c, null);
            if (chunk != null) {
                chunk.free();
            }
        }
    }

    /** Reads {@code len} bytes of the medium at {@code byteOffset} without IO, as a tool reads /dev/ram0. */
    public void peek(long byteOffset, byte[] dst, int off, int len) {
        if (dst == null || off < 0 || len < 0 || off > dst.length - len) {
            throw new IndexOutOfBoundsException(name + ": peek into " + (dst == null ? "a null array"
                    : "[" + off + ", +" + len + ") of an array of " + dst.length));
        }
        if (byteOffset < 0 || byteOffset > capacity - len) {
            throw new IndexOutOfBoundsException(name + ": peek of [" + byteOffset + ", +" + len + ") is outside [0, "
                    + capacity + ")");
        }
        if (freed) {
            throw new IllegalStateException(name + ": peek after the disk's storage was freed");
        }
        while (len > 0) {
            int c = (int) (byteOffset >>> CHUNK_SHIFT);
            int o = (int) (byteOffset & (CHUNK_SIZE - 1));
            int n = Math.min(len, CHUNK_SIZE - o);
            NativeRegion chunk = chunks.get(c);
            if (chunk != null) {
                chunk.copyOut(o, dst, off, n);
            } else {
                Arrays.fill(dst, off, off + n, (byte) 0);
            }
            byteOffset += n;
            off += n;
            len -= n;
        }
    }

    @Override
    public String toString() {
        return name + " (" + capacity + " bytes, " + (freed ? "freed" : "live") + ")";
    }
}
