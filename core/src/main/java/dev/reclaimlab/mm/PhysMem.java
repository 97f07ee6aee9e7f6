package dev.reclaimlab.mm;

import org.agrona.BufferUtil;
import org.agrona.UnsafeApi;

/**
 * The kernel's physical memory: one off-heap region of 4 KiB pages, mapped at {@link #PAGE_OFFSET} like
 * x86-64's direct map, so a kernel address reads like one (0xffff888000123440) and can never be handed
 * to Unsafe by mistake. Every accessor for callers checks the address against the region first.
 */
public final class PhysMem {
    public static final int PAGE_SHIFT = 12;
    public static final int PAGE_SIZE = 1 << PAGE_SHIFT;
    /** __PAGE_OFFSET of x86-64 with 4-level paging. */
    public static final long PAGE_OFFSET = 0xffff888000000000L;

    private final long raw;
    private final long base;
    private final long size;
    private final int nrPages;
    private final OffHeap offHeap;
    private volatile boolean released;

    PhysMem(long size, OffHeap offHeap) {
        this.size = size;
        this.nrPages = (int) (size >>> PAGE_SHIFT);
        this.offHeap = offHeap;
        this.raw = offHeap.allocate(size + PAGE_SIZE, "physical memory");
        this.base = (raw + PAGE_SIZE - 1) & -PAGE_SIZE;
    }

    public long size() {
        return size;
    }

    public int nrPages() {
        return nrPages;
    }

    /** page_address(): the kernel address of {@code pfn}'s first byte. */
    public long pageAddress(int pfn) {
        checkPfn(pfn, "pageAddress");
        return PAGE_OFFSET + ((long) pfn << PAGE_SHIFT);
    }

    /** virt_to_pfn() of a checked kernel address. */
    public int virtToPfn(long addr) {
        checkRange(addr, 1, "virtToPfn");
        return (int) ((addr - PAGE_OFFSET) >>> PAGE_SHIFT);
    }

    boolean released() {
        return released;
    }

    /** Throws once the kernel is closed: mem_map and every page are freed, nothing may touch them. */
    public void checkAlive(String who) {
        if (released) {
            throw closed(who);
        }
    }

    private static IllegalStateException closed(String who) {
        return new IllegalStateException(who + ": kernel closed, its memory and mem_map are freed");
    }

    /** virt_addr_valid(): whether {@code addr} lies in this kernel's memory. */
    public boolean virtAddrValid(long addr) {
        return Long.compareUnsigned(addr, PAGE_OFFSET) >= 0 && addr - PAGE_OFFSET < size;
    }

    // Unchecked translation for allocator internals whose addresses are already known good.
    long nativeOf(long addr) {
        return base + (addr - PAGE_OFFSET);
    }

    long nativeOfPfn(int pfn) {
        return base + ((long) pfn << PAGE_SHIFT);
    }

    // Unchecked word access for allocator-owned structures (radix tree nodes) whose addresses are known good.
    long getLongRaw(long addr) {
        return UnsafeApi.getLong(nativeOf(addr));
    }

    void putLongRaw(long addr, long v) {
        UnsafeApi.putLong(nativeOf(addr), v);
    }

    static long virtOfPfn(int pfn) {
        return PAGE_OFFSET + ((long) pfn << PAGE_SHIFT);
    }

    /** Checks that {@code pfn} names a struct page of this kernel's mem_map and that mem_map still exists. */
    public void checkPfn(int pfn, String who) {
        if (pfn < 0 || pfn >= nrPages || released) {
            throw badPfn(pfn, who);
        }
    }

    private RuntimeException badPfn(int pfn, String who) {
        if (released) {
            return closed(who);
        }
        return new IllegalArgumentException("pfn " + pfn + " outside mem_map [0, " + nrPages + ") in " + who);
    }

    /** Checks that [addr, addr+len) lies in this kernel's memory and that the memory still exists. */
    public void checkRange(long addr, long len, String who) {
        if (released) {
            throw closed(who);
        }
        long off = addr - PAGE_OFFSET;
        if (len < 0 || Long.compareUnsigned(addr, PAGE_OFFSET) < 0 || off < 0 || off > size - len) {
            throw new IllegalArgumentException(String.format("%s: address 0x%x (+%d bytes) is outside kernel memory"
                    + " [0x%x, 0x%x)", who, addr, len, PAGE_OFFSET, PAGE_OFFSET + size));
        }
    }

    public byte getByte(long addr) {
        checkRange(addr, 1, "getByte");
        return UnsafeApi.getByte(nativeOf(addr));
    }

    public void putByte(long addr, byte v) {
        checkRange(addr, 1, "putByte");
        UnsafeApi.putByte(nativeOf(addr), v);
    }

    public int getInt(long addr) {
        checkRange(addr, 4, "getInt");
        return UnsafeApi.getIntUnaligned(null, nativeOf(addr));
    }

    public void putInt(long addr, int v) {
        checkRange(addr, 4, "putInt");
        UnsafeApi.putIntUnaligned(null, nativeOf(addr), v);
    }

    public long getLong(long addr) {
        checkRange(addr, 8, "getLong");
        return UnsafeApi.getLongUnaligned(null, nativeOf(addr));
    }

    public void putLong(long addr, long v) {
        checkRange(addr, 8, "putLong");
        UnsafeApi.putLongUnaligned(null, nativeOf(addr), v);
    }

    /** memset(). */
    public void memset(long addr, int value, long len) {
        checkRange(addr, len, "memset");
        UnsafeApi.setMemory(nativeOf(addr), len, (byte) value);
    }

    /** copy_to_kernel: {@code len} bytes of {@code src} from {@code off} to {@code addr}. */
    public void copyIn(long addr, byte[] src, int off, int len) {
        checkArray(src, off, len, "copyIn");
        checkRange(addr, len, "copyIn");
        UnsafeApi.copyMemory(src, BufferUtil.ARRAY_BASE_OFFSET + off, null, nativeOf(addr), len);
    }

    /** copy_from_kernel: {@code len} bytes at {@code addr} into {@code dst} from {@code off}. */
    public void copyOut(long addr, byte[] dst, int off, int len) {
        checkArray(dst, off, len, "copyOut");
        checkRange(addr, len, "copyOut");
        UnsafeApi.copyMemory(null, nativeOf(addr), dst, BufferUtil.ARRAY_BASE_OFFSET + off, len);
    }

    /** memcpy() within kernel memory. */
    public void memcpy(long dst, long src, long len) {
        checkRange(dst, len, "memcpy dst");
        checkRange(src, len, "memcpy src");
        UnsafeApi.copyMemory(nativeOf(src), nativeOf(dst), len);
    }

    /**
     * Copies {@code len} bytes of kernel memory at {@code kernelAddr} to {@code dst} at {@code dstOffset}: a
     * device's native storage outside the kernel's budget (a RAM disk's medium). Both sides are checked.
     */
    public void copyToNative(long kernelAddr, NativeRegion dst, long dstOffset, long len) {
        checkRegion(dst, "copyToNative");
        checkRange(kernelAddr, len, "copyToNative");
        UnsafeApi.copyMemory(nativeOf(kernelAddr), dst.addressOf(dstOffset, len, "copyToNative"), len);
    }

    /** Copies {@code len} bytes of {@code src} at {@code srcOffset} into kernel memory at {@code kernelAddr}. */
    public void copyFromNative(NativeRegion src, long srcOffset, long kernelAddr, long len) {
        checkRegion(src, "copyFromNative");
        checkRange(kernelAddr, len, "copyFromNative");
        UnsafeApi.copyMemory(src.addressOf(srcOffset, len, "copyFromNative"), nativeOf(kernelAddr), len);
    }

    private static void checkRegion(NativeRegion r, String who) {
        if (r == null) {
            throw new IllegalArgumentException(who + ": native region is null");
        }
    }

    private static void checkArray(byte[] a, int off, int len, String who) {
        if (a == null) {
            throw new IllegalArgumentException(who + ": array is null");
        }
        int length = a.length;
        if (off < 0 || len < 0 || off > length - len) {
            throw new IndexOutOfBoundsException(who + ": range [" + off + ", " + off + "+" + len
                    + ") is outside an array of " + length);
        }
    }

    void release() {
        released = true;
        offHeap.free(raw, size + PAGE_SIZE);
    }
}
