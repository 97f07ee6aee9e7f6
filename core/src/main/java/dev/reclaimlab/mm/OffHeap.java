package dev.reclaimlab.mm;

import org.agrona.UnsafeApi;

import java.util.concurrent.atomic.AtomicLong;

/** One kernel's ledger of native memory: what it allocated and has not freed, so a leak is a number. */
final class OffHeap {
    private final AtomicLong bytes = new AtomicLong();

    long allocate(long len, String what) {
        long addr;
        try {
            addr = UnsafeApi.allocateMemory(len);
        } catch (OutOfMemoryError e) {
            throw new IllegalStateException("cannot allocate " + len + " bytes of native memory for " + what, e);
        }
        UnsafeApi.setMemory(addr, len, (byte) 0);
        bytes.addAndGet(len);
        return addr;
    }

    void free(long addr, long len) {
        UnsafeApi.freeMemory(addr);
        bytes.addAndGet(-len);
    }

    long bytes() {
        return bytes.get();
    }
}
