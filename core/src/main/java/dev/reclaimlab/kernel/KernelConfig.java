package dev.reclaimlab.kernel;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * Boot parameters of one emulated kernel: the command line and Kconfig in one immutable object, the
 * Linux release it behaves as, and the {@link Fix}es applied on top. A fix is declared where it acts;
 * this only holds the set (DESIGN.md rules 4, 9 and 11), so a scenario variant is a KernelConfig and
 * nothing else. The default release is Linux 4.3.
 */
public final class KernelConfig {
    public static final long MIN_MEMORY = 4L << 20;
    public static final long MAX_MEMORY = 16L << 30;
    public static final int MAX_CPUS = 256;

    private final long memoryBytes;
    private final int nrCpus;
    private final long minFreeKbytes;
    private final boolean slubDebug;
    private final boolean lockdep;
    private final long hungTaskTimeoutMillis;
    private final long hungTaskScanMillis;
    private final boolean watchdog;
    private final boolean hungTaskPanic;
    private final boolean kswapd;
    private final KernelVersion version;
    private final Set<Fix> with;
    private final Set<Fix> without;
    // By Fix.id(): has() is two bit tests and a compare, no allocation.
    private final BitSet withBits;
    private final BitSet withoutBits;

    private KernelConfig(Builder b) {
        this.memoryBytes = b.memoryBytes;
        this.nrCpus = b.nrCpus;
        this.minFreeKbytes = b.minFreeKbytes;
        this.slubDebug = b.slubDebug;
        this.lockdep = b.lockdep;
        this.hungTaskTimeoutMillis = b.hungTaskTimeoutMillis;
        this.hungTaskScanMillis = b.hungTaskScanMillis;
        this.watchdog = b.watchdog;
        this.hungTaskPanic = b.hungTaskPanic;
        this.kswapd = b.kswapd;
        this.version = b.version;
        this.with = Set.copyOf(b.with);
        this.without = Set.copyOf(b.without);
        this.withBits = bits(b.with);
        this.withoutBits = bits(b.without);
    }

    private static BitSet bits(Set<Fix> fixes) {
        BitSet s = new BitSet();
        for (Fix f : fixes) {
            s.set(f.id());
        }
        return s;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The defaults: Linux 4.3, no extra fixes, 64 MiB, two CPUs, lockdep on, slub_debug off. */
    public static KernelConfig defaults() {
        return builder().build();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.memoryBytes = memoryBytes;
        b.nrCpus = nrCpus;
        b.minFreeKbytes = minFreeKbytes;
        b.slubDebug = slubDebug;
        b.lockdep = lockdep;
        b.hungTaskTimeoutMillis = hungTaskTimeoutMillis;
        b.hungTaskScanMillis = hungTaskScanMillis;
        b.watchdog = watchdog;
        b.hungTaskPanic = hungTaskPanic;
        b.kswapd = kswapd;
        b.version = version;
        b.with.addAll(with);
        b.without.addAll(without);
        return b;
    }

    public long memoryBytes() {
        return memoryBytes;
    }

    public int nrCpus() {
        return nrCpus;
    }

    /** vm.min_free_kbytes; 0 means derived as init_per_zone_wmark_min() derives it. */
    public long minFreeKbytes() {
        return minFreeKbytes;
    }

    /** slub_debug=FZP on every cache: sanity checks, red zones, poisoning. */
    public boolean slubDebug() {
        return slubDebug;
    }

    public boolean lockdep() {
        return lockdep;
    }

    /** kernel.hung_task_timeout_secs, in milliseconds (the emulator's default is seconds, not 120). */
    public long hungTaskTimeoutMillis() {
        return hungTaskTimeoutMillis;
    }

    /** How often khungtaskd scans. */
    public long hungTaskScanMillis() {
        return hungTaskScanMillis;
    }

    /** Whether boot starts khungtaskd (the watchdog can still be run by hand when off). */
    public boolean watchdog() {
        return watchdog;
    }

    /** kernel.hung_task_panic: panic after a watchdog report (the emulator's default), else report only. */
    public boolean hungTaskPanic() {
        return hungTaskPanic;
    }

    /** Whether boot starts kswapd0; without it every shortage is met by direct reclaim. */
    public boolean kswapd() {
        return kswapd;
    }

    /** The Linux release this kernel behaves as. */
    public KernelVersion version() {
        return version;
    }

    /**
     * Whether this kernel has {@code fix}: named by {@link Builder#with}, or landed in {@link #version()}
     * or earlier and not taken out by {@link Builder#without}.
     */
    public boolean has(Fix fix) {
        int id = fix.id();
        if (withBits.get(id)) {
            return true;
        }
        return !withoutBits.get(id) && fix.inVersion(version);
    }

    /** The fixes named on top of the release, by name. */
    public List<Fix> fixes() {
        return sorted(with);
    }

    /** Fixes of the release that were taken out, by name. */
    public List<Fix> withoutFixes() {
        return sorted(without);
    }

    private static List<Fix> sorted(Set<Fix> s) {
        List<Fix> l = new ArrayList<>(s);
        l.sort(Comparator.comparing(Fix::name));
        return List.copyOf(l);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "linux-%s mem=%dK nr_cpus=%d"
                        + " min_free_kbytes=%d slub_debug=%s lockdep=%s hung_task_timeout=%dms khungtaskd=%s"
                        + " hung_task_panic=%d kswapd=%s", version, memoryBytes >> 10, nrCpus, minFreeKbytes,
                slubDebug ? "FZP" : "off", lockdep ? "on" : "off", hungTaskTimeoutMillis, watchdog ? "on" : "off",
                hungTaskPanic ? 1 : 0, kswapd ? "on" : "off"));
        for (Fix f : fixes()) {
            sb.append(" +").append(f.name());
        }
        for (Fix f : withoutFixes()) {
            sb.append(" -").append(f.name());
        }
        return sb.toString();
    }

    /** Parses a size the way the kernel's memparse() does: 64m, 1g, 512k, or bytes. */
    public static long memparse(String s) {
        Objects.requireNonNull(s, "size");
        String t = s.trim().toLowerCase(Locale.ROOT);
        if (t.isEmpty()) {
            throw new IllegalArgumentException("memparse: empty size");
        }
        int shift = 0;
        char last = t.charAt(t.length() - 1);
        switch (last) {
            case 'k': shift = 10; break;
            case 'm': shift = 20; break;
            case 'g': shift = 30; break;
            default: break;
        }
        String digits = shift == 0 ? t : t.substring(0, t.length() - 1);
        long v;
        try {
            v = Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("memparse: '" + s + "' is not a size (use e.g. 64m, 1g, 512k)");
        }
        if (v < 0 || (shift > 0 && v > (Long.MAX_VALUE >> shift))) {
            throw new IllegalArgumentException("memparse: '" + s + "' is out of range");
        }
        return v << shift;
    }

    public static final class Builder {
        private long memoryBytes = 64L << 20;
        private int nrCpus = 2;
        private long minFreeKbytes;
        private boolean slubDebug;
        private boolean lockdep = true;
        private long hungTaskTimeoutMillis = 2_000;
        private long hungTaskScanMillis = 250;
        private boolean watchdog = true;
        private boolean hungTaskPanic = true;
        private boolean kswapd = true;
        private KernelVersion version = KernelVersion.V4_3;
        private final Set<Fix> with = new LinkedHashSet<>();
        private final Set<Fix> without = new LinkedHashSet<>();

        private Builder() {
        }

        public Builder memory(long bytes) {
            this.memoryBytes = bytes;
            return this;
        }

        public Builder memory(String size) {
            return memory(memparse(size));
        }

        public Builder cpus(int n) {
            this.nrCpus = n;
            return this;
        }

        public Builder minFreeKbytes(long kb) {
            this.minFreeKbytes = kb;
            return this;
        }

        public Builder slubDebug(boolean on) {
            this.slubDebug = on;
            return this;
        }

        public Builder lockdep(boolean on) {
            this.lockdep = on;
            return this;
        }

        public Builder hungTaskTimeoutMillis(long ms) {
            this.hungTaskTimeoutMillis = ms;
            return this;
        }

        public Builder hungTaskScanMillis(long ms) {
            this.hungTaskScanMillis = ms;
            return this;
        }

        public Builder watchdog(boolean on) {
            this.watchdog = on;
            return this;
        }

        public Builder hungTaskPanic(boolean on) {
            this.hungTaskPanic = on;
            return this;
        }

        public Builder kswapd(boolean on) {
            this.kswapd = on;
            return this;
        }

        /** The release to behave as; its landed fixes come with it. */
        public Builder version(KernelVersion v) {
            this.version = Objects.requireNonNull(v, "kernel version");
            return this;
        }

        /** Applies {@code fixes} on top of the release (wins over an earlier {@link #without}). */
        public Builder with(Fix... fixes) {
            for (Fix f : fixes) {
                Objects.requireNonNull(f, "fix");
                without.remove(f);
                with.add(f);
            }
            return this;
        }

        /** Applies {@code fixes} if {@code on}; fix on/off tests read best this way. */
        public Builder with(Fix fix, boolean on) {
            return on ? with(fix) : without(fix);
        }

        /** Takes {@code fixes} out: a release that has them behaves as if they never landed. */
        public Builder without(Fix... fixes) {
            for (Fix f : fixes) {
                Objects.requireNonNull(f, "fix");
                with.remove(f);
                without.add(f);
            }
            return this;
        }

        public KernelConfig build() {
            if (memoryBytes < MIN_MEMORY || memoryBytes > MAX_MEMORY) {
                throw new IllegalArgumentException("KernelConfig: memory " + memoryBytes + " bytes is outside ["
                        + (MIN_MEMORY >> 20) + " MiB, " + (MAX_MEMORY >> 30) + " GiB]");
            }
            if ((memoryBytes & 4095) != 0) {
                throw new IllegalArgumentException("KernelConfig: memory " + memoryBytes
                        + " bytes is not a multiple of the 4096-byte page size");
            }
            if (nrCpus < 1 || nrCpus > MAX_CPUS) {
                throw new IllegalArgumentException("KernelConfig: nr_cpus " + nrCpus + " is outside [1, " + MAX_CPUS + "]");
            }
            if (minFreeKbytes < 0 || minFreeKbytes * 1024 >= memoryBytes / 2) {
                throw new IllegalArgumentException("KernelConfig: min_free_kbytes " + minFreeKbytes
                        + " must be >= 0 and below half of memory");
            }
            if (hungTaskTimeoutMillis <= 0 || hungTaskScanMillis <= 0) {
                throw new IllegalArgumentException("KernelConfig: hung task timeout and scan interval must be positive");
            }
            return new KernelConfig(this);
        }
    }
}
