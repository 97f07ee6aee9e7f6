package dev.reclaimlab.mm;

import org.agrona.BufferUtil;
import org.agrona.UnsafeApi;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Emulator plumbing, no kernel code (the storage behind drivers/block/brd.c-like devices of every version):
 * native memory a device owns outside the kernel's budget (a RAM disk's medium, as brd's pages are not
 * the kernel's to reclaim): a handle with its length. The raw address never leaves this package; every
 * copy names an offset and a length, which are checked against the region before Unsafe sees them, and a
 * freed region refuses every access. The owner frees it once, when no task can do IO on it any more (a
 * RAM disk from a kernel close hook, after its worker stopped).
 */
public final class NativeRegion {
    private final String name;
    private final long length;
    // 0 once freed. The owner's free() happens-after every copy (its IO worker has stopped).
    private volatile long address;
    private final AtomicLong ledger;

    private NativeRegion(String name, long length, long address, AtomicLong ledger) {
        this.name = name;
        this.length = length;
        this.address = address;
        this.ledger = ledger;
    }

    /**
     * A zeroed region of {@code length} bytes named {@code name} (for messages). {@code ledger}, if not
     * null, counts the region's bytes while it lives.
     */
    public static NativeRegion allocate(String name, long length, AtomicLong ledger) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("NativeRegion.allocate: a region needs a name");
        }
        if (length <= 0) {
            throw new IllegalArgumentException(name + ": native region of " + length + " bytes");
        }
        long addr;
        try {
            addr = UnsafeApi.allocateMemory(length);
        } catch (OutOfMemoryError e) {
            throw new IllegalStateException(name + ": cannot allocate " + length + " bytes of native memory", e);
        }
        UnsafeApi.setMemory(addr, length, (byte) 0);
        if (ledger != null) {
            ledger.addAndGet(length);
        }
        return new NativeRegion(name, length, addr, ledger);
    }

    public String name() {
        return name;
    }

    public long length() {
        return length;
    }

    public boolean freed() {
        return address == 0;
    }

    /** Frees the memory; a second free is a bug and throws, naming the region. */
    public void free() {
        long a = address;
        if (a == 0) {
            throw new IllegalStateException(name + ": native region freed twice");
        }
        address = 0;
        UnsafeApi.freeMemory(a);
        if (ledger != null) {
            ledger.addAndGet(-length);
        }
    }

    /** The raw address of [offset, offset+len), after checking it lies inside a live region. */
    long addressOf(long offset, long len, String who) {
        long a = address;
        if (a == 0) {
            throw new IllegalStateException(who + ": native region " + name + " is freed");
        }
        if (offset < 0 || len < 0 || offset > length - len) {
            throw new IndexOutOfBoundsException(who + ": [" + offset + ", +" + len + ") is outside " + name
                    + " [0, " + length + ")");
        }
        return a + offset;
    }

    /** Reads {@code len} bytes at {@code offset} into {@code dst} from {@code dstOff} (tools and tests). */
    public void copyOut(long offset, byte[] dst, int dstOff, int len) {
        if (dst == null || dstOff < 0 || len < 0 || dstOff > dst.length - len) {
            throw new IndexOutOfBoundsException(name + ": copyOut to " + (dst == null ? "a null array"
                    : "[" + dstOff + ", +" + len + ") of an array of " + dst.length));
        }
        long a = addressOf(offset, len, "copyOut");
        UnsafeApi.copyMemory(null, a, dst, BufferUtil.ARRAY_BASE_OFFSET + dstOff, len);
    }

    @Override
    public String toString() {
        return name + " (" + length + " bytes" + (freed() ? ", freed" : "") + ")";
    }
}
