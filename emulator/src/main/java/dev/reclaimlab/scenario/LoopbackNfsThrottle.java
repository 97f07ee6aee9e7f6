package dev.reclaimlab.scenario;

import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.mm.BackingDev;
import dev.reclaimlab.mm.VmStatItem;
import dev.reclaimlab.mm.Vmscan;
import dev.reclaimlab.mm.ZoneFlags;
import dev.reclaimlab.nfs.NfsServer;
import dev.reclaimlab.nfsd.Nfsd;
import dev.reclaimlab.watchdog.ProgressCounter;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Seed 003's livelock (NeilBrown, "Support loop-back NFS mounts", April 2014, the "livelocks" half), Linux
 * 3.14: NFS writers stream files through a loop-back mount of an XFS that nfsd exports on the same host, while
 * another program's memory keeps free pages at the watermarks so every allocation reclaims. The NFS client's
 * bdi is write-congested while more than NFS_CONGESTION_ON_THRESH pages are in WRITE flight; reclaim scanning
 * its pages sets ZONE_CONGESTED; nfsd, allocating the exported XFS's page-cache pages, direct-reclaims and
 * naps HZ/10 in wait_iff_congested() (and congestion_wait()) after every batch, because some bdi, the very mount
 * it serves, is congested. The WRITEs that would uncongest it are nfsd's, so commits trickle. 3.16's
 * current_may_throttle() with nfsd PF_LESS_THROTTLE only for loop-back WRITEs spares it: XFS's own bdi, the
 * one nfsd writes to, is not congested.
 */
public final class LoopbackNfsThrottle implements Scenario {
    static final long DISK_BYTES = 512L << 20;
    /** The exported XFS's disk bandwidth: the stack's bottleneck when nothing else is. */
    static final long DISK_BYTES_PER_SECOND = 16L << 20;
    static final int NFSD_THREADS = 8;
    static final int WRITERS = 4;
    static final int WRITE_CHUNK = 64 << 10;
    static final int MIN_NFS_FILE = 4 << 20;
    static final int MAX_NFS_FILE = 12 << 20;
    /** memhog: 45 % of memory, 3 % of it given back and taken again every 25 ms: another program's memory. */
    static final Memhog MEMHOG = new Memhog(45, 3, TimeUnit.MILLISECONDS.toNanos(25));
    /**
     * The progress floor in bytes committed per second: 5 % of less-throttle's median throughput (13.5 MiB/s
     * over seeds 1..20, 30 s each, on a loaded 2-core host; see the README), rounded down to 640 KiB/s. The
     * slowest 5 s window of a clean less-throttle run (3 MiB/s, at start-up) is well above it.
     */
    static final long FLOOR_BYTES_PER_SECOND = 640L << 10;
    /**
     * sysctl fs.nfs.nfs_congestion_kb: 1 MiB. The boot default, 16·√totalram KiB (8 MiB on 64 MiB), is more
     * than the dirty limits of so small a machine let into WRITE flight, so the mount would never congest;
     * on the seed's machines (GiBs) the default is far below them.
     */
    static final long NFS_CONGESTION_KB = 1024;
    /**
     * sysctl vm.dirty_ratio 50 and vm.dirty_background_ratio 25 (boot: 20 and 10), as a write-heavy server is
     * set. At the boot values the dirty, unstable and writeback pages of both copies of the data stay so small
     * a share of the file LRU that they are committed before they reach its tail, and reclaim never meets one
     * while the mount is congested; at 50 they do (the README's table has 20, 40, 50 and 60).
     */
    static final int VM_DIRTY_RATIO = 50;
    static final int VM_DIRTY_BACKGROUND_RATIO = 25;
    public static final String COUNTER = "loopback-nfs-throttle bytes committed";

    @Override
    public String name() {
        return "loopback-nfs-throttle";
    }

    @Override
    public String description() {
        return "NFS writers over a loop-back mount under memory pressure: nfsd naps in reclaim's congestion"
                + " waits because the NFS mount it serves is congested, so commits trickle";
    }

    @Override
    public KernelVersion version() {
        return KernelVersion.V3_14;
    }

    @Override
    public List<String> seeds() {
        return List.of("003_7b08768e9738acfe.txt");
    }

    @Override
    public String lockdepBlindSpot() {
        return "a livelock: no task waits for a lock, every nap is timed, so neither lockdep nor the wait-for"
                + " proof can see it; only the progress counter does";
    }

    @Override
    public List<Variant> variants() {
        return List.of(
                Variant.release("linux-3.14", "3.14: nfsd PF_LESS_THROTTLE for life, throttled in reclaim by any"
                        + " congested bdi", Outcome.STALL),
                new Variant("less-throttle", "3.18: current_may_throttle() (399ba0b95670) and nfsd PF_LESS_THROTTLE"
                        + " only while serving a loop-back WRITE (8658452e4a58), both 3.16, with 3.18's bounded"
                        + " nfs_release_page(), without which seed 000's deadlock ends some runs", Outcome.CLEAN,
                        with318(Vmscan.CURRENT_MAY_THROTTLE, Nfsd.NFSD_LESS_THROTTLE_WHEN_NEEDED)),
                new Variant("every-nfsd-less-throttle", "experiment, never shipped: current_may_throttle()"
                        + " (399ba0b95670) with every nfsd thread PF_LESS_THROTTLE for life, as 3.14's nfsd() sets it"
                        + " (3.16 landed both patches together), and 3.18's nfs_release_page()", Outcome.CLEAN,
                        with318(Vmscan.CURRENT_MAY_THROTTLE)));
    }

    private static List<Fix> with318(Fix... fixes) {
        List<Fix> all = new ArrayList<>(List.of(fixes));
        all.addAll(LoopbackNfs.RELEASE_PAGE_318);
        return List.copyOf(all);
    }

    @Override
    public Workload start(Kernel k, Variant v, long seed) {
        k.currentTask();
        k.mm().writeback().setDirtyRatio(VM_DIRTY_RATIO);
        k.mm().writeback().setDirtyBackgroundRatio(VM_DIRTY_BACKGROUND_RATIO);
        NfsLoopStack stack = NfsLoopStack.build(k, DISK_BYTES, DISK_BYTES_PER_SECOND, NFSD_THREADS);
        stack.nfs().vfs().mkdir("/", "nfs");
        Run run = new Run(k, stack, seed);
        for (int i = 0; i < WRITERS; i++) {
            int id = i;
            k.kthreadRun("nfswriter" + i, self -> run.loop.run(self, () -> run.writeOne(id)));
        }
        k.kthreadRun("memhog", self -> MEMHOG.run(self, k, run.loop));
        NfsServer srv = stack.nfs().server();
        srv.setNfsCongestionKb(NFS_CONGESTION_KB);
        registerProgress(k, srv::committedBytes);
        return run;
    }

    /**
     * The watchdog's progress counter of this scenario: bytes committed through NFS, at least
     * {@link #FLOOR_BYTES_PER_SECOND} over a window of half the hung-task timeout. Half, because the writers
     * waiting for their COMMITs in close() would be reported as hung first (as 3.14's khungtaskd would, after
     * 120 s), and the point is the rate.
     */
    static ProgressCounter registerProgress(Kernel k, LongSupplier committedBytes) {
        return registerProgress(k, committedBytes, FLOOR_BYTES_PER_SECOND,
                TimeUnit.MILLISECONDS.toNanos(k.config().hungTaskTimeoutMillis()) / 2);
    }

    /** The same counter with a test's floor and window (a planted moment is judged in seconds, not a run). */
    public static ProgressCounter registerProgress(Kernel k, LongSupplier committedBytes, long floorBytesPerSecond,
                                                   long windowNanos) {
        return k.watchdog().registerProgress(COUNTER, committedBytes, floorBytesPerSecond, windowNanos);
    }

    /** One run's workload state and counters. */
    private static final class Run implements Workload {
        private final Kernel k;
        private final NfsLoopStack s;
        private final Vfs nfs;
        private final long seed;
        private final AtomicLong written = new AtomicLong();
        private final long[] writeNext = new long[WRITERS];
        private final WorkloadLoop loop = new WorkloadLoop();

        Run(Kernel k, NfsLoopStack s, long seed) {
            this.k = k;
            this.s = s;
            this.nfs = s.nfs().vfs();
            this.seed = seed;
        }


        /** An NFS writer: a 4-12 MiB file in 64 KiB writes, closed (which commits); its previous file removed. */
        void writeOne(int id) {
            long n = writeNext[id]++;
            SplittableRandom r = new SplittableRandom(seed ^ (id * 1_000_003L) ^ (n << 20));
            int size = r.nextInt(MIN_NFS_FILE, MAX_NFS_FILE);
            byte[] chunk = new byte[WRITE_CHUNK];
            r.nextBytes(chunk);
            String name = "w" + id + "-" + n;
            File f = nfs.create("/nfs", name);
            try {
                for (long off = 0; off < size && !loop.stopping(); off += WRITE_CHUNK) {
                    int len = (int) Math.min(WRITE_CHUNK, size - off);
                    nfs.write(f, off, len == WRITE_CHUNK ? chunk : java.util.Arrays.copyOf(chunk, len));
                    written.addAndGet(len);
                }
            } finally {
                nfs.close(f);
            }
            if (n > 0 && !loop.stopping()) {
                nfs.unlink("/nfs", "w" + id + "-" + (n - 1));
            }
        }

        @Override
        public String progress() {
            NfsServer srv = s.nfs().server();
            return String.format("nfs written %dM committed %dM; nfsd served %d; nfs bdi %s, nr_bdi_congested %d,"
                            + " zone congested %b; unstable %d wb %d dirty %d free %d inactive %d active %d;"
                            + " allocstall %d",
                    written.get() >> 20, srv.committedBytes() >> 20, s.nfsd().serv().served(),
                    srv.bdiWriteCongested() ? "congested" : "uncongested",
                    k.mm().backingDev().nrBdiCongested(BackingDev.BLK_RW_ASYNC),
                    k.mm().zoneFlags().test(ZoneFlags.ZONE_CONGESTED),
                    k.mm().vmstat().get(VmStatItem.NR_UNSTABLE_NFS), k.mm().vmstat().get(VmStatItem.NR_WRITEBACK),
                    k.mm().vmstat().get(VmStatItem.NR_DIRTY), k.mm().vmstat().get(VmStatItem.NR_FREE_PAGES),
                    k.mm().vmstat().get(VmStatItem.NR_INACTIVE_FILE), k.mm().vmstat().get(VmStatItem.NR_ACTIVE_FILE),
                    k.mm().vmstat().get(VmStatItem.ALLOCSTALL_NORMAL))
                    + String.format("; ZONE_CONGESTED set %d cleared %d; naps nfsd %s kswapd %s writers %s; %s",
                    k.mm().zoneFlags().sets(ZoneFlags.ZONE_CONGESTED), k.mm().zoneFlags().clears(ZoneFlags.ZONE_CONGESTED),
                    naps("nfsd"), naps("kswapd"), naps("nfswriter"), k.mm().shrinkStats())
                    + String.format("; congestion wakeups nfs %d (%d uncongested) sda %d (%d uncongested)",
                    srv.bdi().congestionWakeups(), srv.bdi().congestionWakeupsUncongested(),
                    s.disk().queue().bdi().congestionWakeups(), s.disk().queue().bdi().congestionWakeupsUncongested())
                    + "; " + s.disk().queue();
        }

        /**
         * The throttle sleeps of the tasks whose comm starts with {@code comm}, summed per site: count/ms/how
         * many a wake-up ended before their timeout.
         */
        private String naps(String comm) {
            Map<String, long[]> sum = new TreeMap<>();
            for (Task t : k.tasks()) {
                if (t.comm().startsWith(comm)) {
                    t.throttleAccount().totals().forEach((site, v) -> sum.merge(site, v.clone(),
                            (a, b) -> new long[] {a[0] + b[0], a[1] + b[1], a[2] + b[2]}));
                }
            }
            StringBuilder sb = new StringBuilder("{");
            sum.forEach((site, v) -> sb.append(sb.length() > 1 ? ", " : "").append(site).append(' ').append(v[0])
                    .append('/').append(TimeUnit.NANOSECONDS.toMillis(v[1])).append("ms/").append(v[2])
                    .append(" early"));
            return sb.append('}').toString();
        }

        @Override
        public long workDone() {
            return s.nfs().server().committedBytes();
        }

        @Override
        public List<String> errors() {
            return loop.errors();
        }

        @Override
        public void stop() {
            loop.stop();
        }
    }
}
