package dev.reclaimlab.kernel;

import java.util.Locale;
import java.util.Objects;

/**
 * Boot parameters of one emulated kernel: the command line and Kconfig in one immutable object.
 * Fix switches that later subsystems add live here too (DESIGN.md rule 4), so a scenario variant is a
 * KernelConfig and nothing else.
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
    private final boolean loopMemallocNoio;
    private final boolean pagecacheObeysMappingGfp;
    private final boolean xfsNonblockingInodeReclaim;

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
        this.loopMemallocNoio = b.loopMemallocNoio;
        this.pagecacheObeysMappingGfp = b.pagecacheObeysMappingGfp;
        this.xfsNonblockingInodeReclaim = b.xfsNonblockingInodeReclaim;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The defaults: 64 MiB, two CPUs, lockdep on, slub_debug off. */
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
        b.loopMemallocNoio = loopMemallocNoio;
        b.pagecacheObeysMappingGfp = pagecacheObeysMappingGfp;
        b.xfsNonblockingInodeReclaim = xfsNonblockingInodeReclaim;
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

    /**
     * Fix switch: loop workers run each work under memalloc_noio_save(), so no allocation in the backing
     * file's read or write path can recurse into filesystem or IO reclaim. Off is the 2015 kernel.
     */
    public boolean loopMemallocNoio() {
        return loopMemallocNoio;
    }

    /**
     * Fix switch: page-cache reads allocate with the mapping's gfp mask (mpage_readpages() after
     * "mm: do not ignore mapping_gfp_mask in page cache allocation paths", 2015) instead of GFP_KERNEL.
     */
    public boolean pagecacheObeysMappingGfp() {
        return pagecacheObeysMappingGfp;
    }

    /**
     * Fix switch: XFS inode reclaim from the shrinker skips pinned inodes instead of forcing the log and
     * waiting for them to be unpinned (non-blocking inode reclaim).
     */
    public boolean xfsNonblockingInodeReclaim() {
        return xfsNonblockingInodeReclaim;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "mem=%dK nr_cpus=%d min_free_kbytes=%d slub_debug=%s lockdep=%s"
                        + " hung_task_timeout=%dms khungtaskd=%s hung_task_panic=%d kswapd=%s loop_memalloc_noio=%s",
                memoryBytes >> 10, nrCpus, minFreeKbytes, slubDebug ? "FZP" : "off", lockdep ? "on" : "off",
                hungTaskTimeoutMillis, watchdog ? "on" : "off", hungTaskPanic ? 1 : 0, kswapd ? "on" : "off",
                loopMemallocNoio ? "on" : "off")
                + (pagecacheObeysMappingGfp ? " pagecache_obeys_mapping_gfp" : "")
                + (xfsNonblockingInodeReclaim ? " xfs_nonblocking_inode_reclaim" : "");
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
        private boolean loopMemallocNoio;
        private boolean pagecacheObeysMappingGfp;
        private boolean xfsNonblockingInodeReclaim;

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

        public Builder loopMemallocNoio(boolean on) {
            this.loopMemallocNoio = on;
            return this;
        }

        public Builder pagecacheObeysMappingGfp(boolean on) {
            this.pagecacheObeysMappingGfp = on;
            return this;
        }

        public Builder xfsNonblockingInodeReclaim(boolean on) {
            this.xfsNonblockingInodeReclaim = on;
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
