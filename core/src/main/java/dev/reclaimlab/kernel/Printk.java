package dev.reclaimlab.kernel;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * kernel/printk: the kernel's log buffer. A bounded ring of timestamped records ({@code [    1.234567] ...})
 * that dmesg reads; the oldest go when it is full, as in the kernel.
 */
final class Printk {
    private static final int MAX_RECORDS = 4096;

    private final long bootNanos = System.nanoTime();
    private final ArrayDeque<String> ring = new ArrayDeque<>();
    private final dev.reclaimlab.locking.RawSpinLock logbufLock = new dev.reclaimlab.locking.RawSpinLock("logbuf_lock");

    void printk(String text) {
        long us = TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - bootNanos);
        String stamp = String.format("[%5d.%06d] ", us / 1_000_000, us % 1_000_000);
        StringBuilder sb = new StringBuilder();
        for (String line : text.split("\n", -1)) {
            if (!line.isEmpty()) {
                sb.append(stamp).append(line).append('\n');
            }
        }
        logbufLock.lock();
        try {
            ring.addLast(sb.toString());
            while (ring.size() > MAX_RECORDS) {
                ring.removeFirst();
            }
        } finally {
            logbufLock.unlock();
        }
    }

    String dmesg() {
        logbufLock.lock();
        try {
            return String.join("", ring);
        } finally {
            logbufLock.unlock();
        }
    }
}
