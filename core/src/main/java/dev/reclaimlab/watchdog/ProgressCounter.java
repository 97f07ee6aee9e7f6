package dev.reclaimlab.watchdog;

import java.util.function.LongSupplier;

/**
 * A counter that must move while work is pending (pages reclaimed, writes completed). If it stands still
 * for the hung-task timeout while tasks run or sleep in throttles, the watchdog reports a stall.
 */
public final class ProgressCounter {
    private final String name;
    private final LongSupplier counter;
    // Read and written by the scanning thread only (scans are serialised).
    long lastValue;
    long lastChangeNanos;
    boolean reported;

    ProgressCounter(String name, LongSupplier counter, long nowNanos) {
        this.name = name;
        this.counter = counter;
        this.lastValue = counter.getAsLong();
        this.lastChangeNanos = nowNanos;
    }

    public String name() {
        return name;
    }

    long read() {
        return counter.getAsLong();
    }
}
