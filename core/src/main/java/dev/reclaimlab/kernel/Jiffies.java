package dev.reclaimlab.kernel;

/**
 * The tick (include/linux/jiffies.h, kernel/Kconfig.hz): timeouts the kernel writes in jiffies (HZ/10,
 * HZ/50, 1) become nanoseconds here, and nowhere else. CONFIG_HZ is 100, a legal Kconfig choice for every
 * modelled release, so one jiffy is 10 ms and HZ/10 is 100 ms, as a 3.14 kernel sleeps in
 * congestion_wait(BLK_RW_ASYNC, HZ/10).
 *
 * <p>The emulator's 4.3 and later kernels run with time compressed tenfold ({@link #COMPRESSED_TIME}): a
 * jiffy is 1 ms, so congestion_wait(HZ/10) sleeps 10 ms. The xfs-on-loop figures and tests were measured
 * that way, and a throttle that only slows reclaim changes nothing in their deadlock; it is kept for 4.3
 * exactly. A scenario whose result is a rate of progress (the 3.14 throttle livelock) needs the real tick.
 */
public final class Jiffies {
    /** CONFIG_HZ. */
    public static final int HZ = 100;
    /** One jiffy of real time at {@link #HZ}. */
    public static final long TICK_NANOS = 1_000_000_000L / HZ;
    /** How much faster than real time a compressed kernel's jiffies pass. */
    public static final int COMPRESSION = 10;

    /**
     * Not a kernel change: the emulator's 4.3 model of time, declared so it is a switch and not a constant
     * hidden in vmscan. Off (3.14), a jiffy is {@link #TICK_NANOS}.
     */
    public static final Fix COMPRESSED_TIME = Fix.declare("jiffies_compressed",
            "emulator time, not a kernel patch: a jiffy lasts 1 ms instead of 10 ms (HZ/10 = 10 ms), as the 4.3"
                    + " xfs-on-loop scenario was built and measured",
            "none: the emulator's time model for its 4.3 and later kernels", KernelVersion.V4_3);

    private Jiffies() {
    }

    /** One jiffy in nanoseconds in a kernel of {@code config}. */
    public static long tickNanos(KernelConfig config) {
        return config.has(COMPRESSED_TIME) ? TICK_NANOS / COMPRESSION : TICK_NANOS;
    }

    /** jiffies_to_nsecs() in a kernel of {@code config}; a negative timeout is refused. */
    public static long toNanos(KernelConfig config, long jiffies) {
        if (jiffies < 0) {
            throw new IllegalArgumentException("jiffies_to_nsecs: timeout " + jiffies + " is negative");
        }
        return jiffies * tickNanos(config);
    }
}
