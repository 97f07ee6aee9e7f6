package dev.reclaimlab.kernel;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * struct fault_attr and should_fail() (lib/fault-inject.c, as in Linux 4.3): when to inject a failure.
 * {@code probability} is a percentage; {@code interval} fails only every interval-th eligible call;
 * {@code times} is how many failures are left (-1 for no limit); {@code space} lets that many bytes of
 * requests through first; {@code verbose} 1 prints a line per failure, 2 adds the stack; with
 * {@code task-filter} only tasks whose make-it-fail is set fail. As the kernel's, the default attribute
 * fails nothing (probability 0) and fails once (times 1) when given a probability.
 *
 * <p>Departures: the random numbers come from a per-attribute SplitMix64 stream seeded by {@link #seed},
 * so a single-threaded sequence of calls fails at the same calls every run (the kernel uses prandom);
 * {@code task-comm} (an emulator addition) restricts failures to tasks of the named comms, which lets a
 * test aim at a kthread it did not start; the stack-trace filters (require-start and the rest) are not
 * modelled. Every decision is lock-free and allocates nothing unless it prints.
 */
public final class FaultAttr {
    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;
    private static final int STACK_DEPTH = 32;

    private final String name;
    private volatile int probability;
    private volatile long interval = 1;
    private final AtomicInteger times = new AtomicInteger(1);
    private final AtomicInteger space = new AtomicInteger();
    private volatile int verbose = 2;
    private volatile boolean taskFilter;
    private volatile Set<String> taskComms = Set.of();
    private final AtomicLong count = new AtomicLong();
    private final AtomicLong rnd = new AtomicLong();
    private volatile int ratelimitIntervalMs;
    private volatile int ratelimitBurst;
    private final AtomicLong ratelimitBegin = new AtomicLong();
    private final AtomicInteger ratelimitPrinted = new AtomicInteger();
    private final AtomicLong injected = new AtomicLong();

    public FaultAttr(String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("fault_attr: a fault capability needs a name");
        }
        this.name = name;
        seed(name.hashCode());
    }

    /** The debugfs directory name: "failslab", "fail_page_alloc", "fail_make_request". */
    public String name() {
        return name;
    }

    /**
     * should_fail(): whether the call of {@code t} with a request of {@code size} bytes (or pages, as the
     * capability counts) fails now. {@code t} is null outside a task.
     */
    public boolean shouldFail(Task t, long size, Kernel kernel) {
        int p = probability;
        if (p == 0) {
            return false;
        }
        if (taskFilter && (t == null || !t.makeItFail())) {
            return false;
        }
        Set<String> comms = taskComms;
        if (!comms.isEmpty() && (t == null || !comms.contains(t.comm()))) {
            return false;
        }
        if (times.get() == 0) {
            return false;
        }
        if (space.get() > size) {
            space.addAndGet((int) -Math.min(size, Integer.MAX_VALUE));
            return false;
        }
        long iv = interval;
        if (iv > 1 && count.incrementAndGet() % iv != 0) {
            return false;
        }
        if (p <= nextPercent()) {
            return false;
        }
        failDump(t, kernel);
        // atomic_dec_not_zero() unless unlimited.
        for (;;) {
            int n = times.get();
            if (n == -1 || n == 0 || times.compareAndSet(n, n - 1)) {
                break;
            }
        }
        injected.incrementAndGet();
        return true;
    }

    /** prandom_u32() % 100 from this attribute's stream. */
    private int nextPercent() {
        long z = rnd.addAndGet(GOLDEN_GAMMA);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        return (int) ((z >>> 1) % 100);
    }

    /** fail_dump(): "FAULT_INJECTION: forcing a failure." in the log, with the stack at verbose 2. */
    private void failDump(Task t, Kernel kernel) {
        if (verbose <= 0 || kernel == null || !ratelimitOk()) {
            return;
        }
        StringBuilder sb = new StringBuilder(256);
        sb.append("FAULT_INJECTION: forcing a failure.\nname ").append(name).append(", interval ").append(interval)
                .append(", probability ").append(probability).append(", space ").append(space.get())
                .append(", times ").append(times.get()).append('\n');
        if (verbose > 1) {
            sb.append("CPU: ").append(t == null ? "-" : t.cpu()).append(" PID: ").append(t == null ? "-" : t.pid())
                    .append(" Comm: ").append(t == null ? Thread.currentThread().getName() : t.comm())
                    .append("\nCall Trace:\n");
            StackWalker.getInstance().walk(s -> {
                s.skip(2).limit(STACK_DEPTH).forEach(f -> sb.append(' ').append(f.getClassName()
                        .substring(f.getClassName().lastIndexOf('.') + 1)).append('.').append(f.getMethodName())
                        .append('\n'));
                return null;
            });
        }
        kernel.printk(sb.toString());
    }

    /** __ratelimit(): at most burst messages per interval; an interval of 0 disables the limit. */
    private boolean ratelimitOk() {
        int ivMs = ratelimitIntervalMs;
        if (ivMs == 0) {
            return true;
        }
        long now = System.nanoTime();
        long begin = ratelimitBegin.get();
        if (begin == 0 || now - begin > ivMs * 1_000_000L) {
            if (ratelimitBegin.compareAndSet(begin, now)) {
                ratelimitPrinted.set(0);
            }
        }
        return ratelimitPrinted.incrementAndGet() <= ratelimitBurst;
    }

    // ---------------------------------------------------------------- attributes

    public int probability() {
        return probability;
    }

    /** A percentage, 0 (never) to 100 (every eligible call). */
    public FaultAttr probability(int percent) {
        if (percent < 0 || percent > 100) {
            throw new IllegalArgumentException(name + "/probability: " + percent + " is not a percentage in [0, 100]");
        }
        this.probability = percent;
        return this;
    }

    public long interval() {
        return interval;
    }

    /** Fail only every {@code n}-th eligible call (1, the default, is every call). */
    public FaultAttr interval(long n) {
        if (n < 1) {
            throw new IllegalArgumentException(name + "/interval: " + n + " is not a positive interval");
        }
        this.interval = n;
        return this;
    }

    public int times() {
        return times.get();
    }

    /** How many failures to inject before stopping; -1 for no limit. */
    public FaultAttr times(int n) {
        if (n < -1) {
            throw new IllegalArgumentException(name + "/times: " + n + " is neither a count nor -1 (no limit)");
        }
        times.set(n);
        return this;
    }

    public int space() {
        return space.get();
    }

    /** Let this many bytes of requests succeed before failing any. */
    public FaultAttr space(int bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException(name + "/space: " + bytes + " bytes");
        }
        space.set(bytes);
        return this;
    }

    public int verbose() {
        return verbose;
    }

    /** 0 quiet, 1 one line per failure, 2 the line and the stack. */
    public FaultAttr verbose(int v) {
        if (v < 0 || v > 2) {
            throw new IllegalArgumentException(name + "/verbose: " + v + " is not 0, 1 or 2");
        }
        this.verbose = v;
        return this;
    }

    public boolean taskFilter() {
        return taskFilter;
    }

    /** Only tasks with {@link Task#setMakeItFail} set fail (/proc/PID/make-it-fail). */
    public FaultAttr taskFilter(boolean on) {
        this.taskFilter = on;
        return this;
    }

    public Set<String> taskComms() {
        return taskComms;
    }

    /** Only tasks of these comms fail; none named means any task (an emulator addition). */
    public FaultAttr taskComms(String... comms) {
        for (String c : comms) {
            if (c == null || c.isEmpty() || c.length() >= Task.TASK_COMM_LEN) {
                throw new IllegalArgumentException(name + "/task-comm: '" + c + "' is not a task comm (1 to "
                        + (Task.TASK_COMM_LEN - 1) + " characters)");
            }
        }
        this.taskComms = Set.of(comms);
        return this;
    }

    /** verbose_ratelimit_interval_ms and verbose_ratelimit_burst; interval 0 (the default) prints every failure. */
    public FaultAttr verboseRatelimit(int intervalMs, int burst) {
        if (intervalMs < 0 || burst < 0) {
            throw new IllegalArgumentException(name + ": verbose ratelimit " + intervalMs + " ms, burst " + burst);
        }
        this.ratelimitIntervalMs = intervalMs;
        this.ratelimitBurst = burst;
        return this;
    }

    /** Restarts the random stream and the interval count: the same calls fail again in the same order. */
    public FaultAttr seed(long seed) {
        rnd.set(seed * GOLDEN_GAMMA);
        count.set(0);
        return this;
    }

    /** setup_fault_attr(): the boot parameter form "interval,probability,space,times". */
    public FaultAttr setup(String spec) {
        String[] f = spec == null ? new String[0] : spec.split(",");
        if (f.length != 4) {
            throw new IllegalArgumentException("FAULT_INJECTION: failed to parse arguments '" + spec + "' for " + name
                    + " (want interval,probability,space,times)");
        }
        long[] v = new long[4];
        for (int i = 0; i < 4; i++) {
            v[i] = parseLong(f[i].trim(), "setup");
        }
        return interval(v[0]).probability(toInt(v[1], "probability")).space(toInt(v[2], "space"))
                .times(toInt(v[3], "times"));
    }

    /** Failures this attribute injected (the kernel has no such counter; tests and the fuzz read it). */
    public long injected() {
        return injected.get();
    }

    /** Turns injection off: probability 0, the other attributes as they are. */
    public void disable() {
        probability = 0;
    }

    // ---------------------------------------------------------------- debugfs

    /** The files of the attribute's debugfs directory, as fault_create_debugfs_attr() makes them. */
    public static final List<String> FILES = List.of("probability", "interval", "times", "space", "verbose",
            "verbose_ratelimit_interval_ms", "verbose_ratelimit_burst", "task-filter", "task-comm");

    /** cat /sys/kernel/debug/NAME/FILE. */
    public String read(String file) {
        switch (file == null ? "" : file) {
            case "probability":
                return Integer.toString(probability);
            case "interval":
                return Long.toString(interval);
            case "times":
                return Integer.toString(times.get());
            case "space":
                return Integer.toString(space.get());
            case "verbose":
                return Integer.toString(verbose);
            case "verbose_ratelimit_interval_ms":
                return Integer.toString(ratelimitIntervalMs);
            case "verbose_ratelimit_burst":
                return Integer.toString(ratelimitBurst);
            case "task-filter":
                return taskFilter ? "Y" : "N";
            case "task-comm":
                return String.join(" ", taskComms.stream().sorted().toList());
            default:
                throw noSuchFile(file);
        }
    }

    /** echo VALUE > /sys/kernel/debug/NAME/FILE; a value the file cannot take is refused (-EINVAL). */
    public void write(String file, String value) {
        String v = value == null ? "" : value.trim();
        switch (file == null ? "" : file) {
            case "probability":
                probability(toInt(parseLong(v, file), file));
                break;
            case "interval":
                interval(parseLong(v, file));
                break;
            case "times":
                times(toInt(parseLong(v, file), file));
                break;
            case "space":
                space(toInt(parseLong(v, file), file));
                break;
            case "verbose":
                verbose(toInt(parseLong(v, file), file));
                break;
            case "verbose_ratelimit_interval_ms":
                verboseRatelimit(toInt(parseLong(v, file), file), ratelimitBurst);
                break;
            case "verbose_ratelimit_burst":
                verboseRatelimit(ratelimitIntervalMs, toInt(parseLong(v, file), file));
                break;
            case "task-filter":
                taskFilter(parseBool(v, name + "/" + file));
                break;
            case "task-comm":
                taskComms(v.isEmpty() ? new String[0] : Arrays.stream(v.split("\\s+")).distinct().toArray(String[]::new));
                break;
            default:
                throw noSuchFile(file);
        }
    }

    private IllegalArgumentException noSuchFile(String file) {
        return new IllegalArgumentException("/sys/kernel/debug/" + name + "/" + file + ": no such file (" + FILES + ")");
    }

    private long parseLong(String v, String file) {
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + "/" + file + ": '" + v + "' is not a number (-EINVAL)");
        }
    }

    private int toInt(long v, String file) {
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(name + "/" + file + ": " + v + " is out of range (-EINVAL)");
        }
        return (int) v;
    }

    /** kstrtobool(): Y/y/1/on and N/n/0/off. */
    public static boolean parseBool(String v, String what) {
        switch (v == null ? "" : v.trim()) {
            case "Y": case "y": case "1": case "on":
                return true;
            case "N": case "n": case "0": case "off":
                return false;
            default:
                throw new IllegalArgumentException(what + ": '" + v + "' is not a boolean (Y/N/1/0) (-EINVAL)");
        }
    }

    @Override
    public String toString() {
        return name + "[probability " + probability + ", interval " + interval + ", times " + times.get() + ", space "
                + space.get() + ", verbose " + verbose + (taskFilter ? ", task-filter" : "")
                + (taskComms.isEmpty() ? "" : ", task-comm " + taskComms) + "]";
    }
}
