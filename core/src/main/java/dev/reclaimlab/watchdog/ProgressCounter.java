package dev.reclaimlab.watchdog;

import java.util.ArrayDeque;
import java.util.function.LongSupplier;

/**
 * A counter of real work (bytes verified, files written) that must keep moving while tasks run or sleep in
 * throttles. Over a window of scans it must grow by at least {@code floorPerSecond} per second (0: it must
 * move at all); if it does not while some task was busy in every scan of the window, the watchdog
 * reports a stall (livelock). An idle kernel is never stalled: idle scans break the window.
 */
public final class ProgressCounter {
    private final String name;
    private final LongSupplier counter;
    private final double floorPerSecond;
    private final long windowNanos;
    // Scan state: read and written by the scanning thread only (scans are serialised).
    final ArrayDeque<long[]> samples = new ArrayDeque<>();
    boolean reported;
    long lastValue;

    ProgressCounter(String name, LongSupplier counter, double floorPerSecond, long windowNanos) {
        if (name == null || counter == null) {
            throw new IllegalArgumentException("registerProgress: a name and a counter are required");
        }
        if (!(floorPerSecond >= 0) || windowNanos <= 0) {
            throw new IllegalArgumentException("registerProgress(" + name + "): floor " + floorPerSecond
                    + "/s and window " + windowNanos + " ns must be >= 0 and > 0");
        }
        this.name = name;
        this.counter = counter;
        this.floorPerSecond = floorPerSecond;
        this.windowNanos = windowNanos;
    }

    public String name() {
        return name;
    }

    public double floorPerSecond() {
        return floorPerSecond;
    }

    public long windowNanos() {
        return windowNanos;
    }

    long read() {
        return counter.getAsLong();
    }
}
