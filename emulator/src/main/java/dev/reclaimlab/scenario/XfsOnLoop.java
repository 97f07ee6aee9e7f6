package dev.reclaimlab.scenario;

import dev.reclaimlab.block.LoopDevice;
import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.fs.VfsException;
import dev.reclaimlab.fs.xfs.Xfs;
import dev.reclaimlab.fs.xfs.XfsIcache;
import dev.reclaimlab.fs.xfs.XfsMountOptions;
import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.mm.Mm;
import dev.reclaimlab.mm.Readahead;
import dev.reclaimlab.mm.VmStatItem;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Seed 001 (Dave Chinner, xfs/073 on a loop device, Linux 4.3-rc3): XFS on loop1 whose image file lives on
 * another XFS. kloopd1's read work holds XFS_IOLOCK_SHARED on the image and reads it through 4.3's
 * readahead, whose mpage_readpages() adds the pages to the lower cache with add_to_page_cache_lru(GFP_KERNEL):
 * preloading a radix tree node there can enter direct reclaim, where the upper XFS's inode reclaim forces
 * the upper log and waits for log IO; that IO is a write to loop1, which kloopd1's write work serves by
 * taking XFS_IOLOCK_EXCL on the same image. The pages themselves come from the mapping's GFP_NOFS.
 *
 * <p>The workload is xfs/073's shape (a tree of many small files copied onto a loop-mounted image and read
 * back for comparison): writers create, fill and close small files, and a short-lived temporary file each
 * round, on the upper XFS (pinning inodes in its log); readers read files back and compare every byte. The
 * files are more than memory holds, so loop reads fill the lower page cache under reclaim, and the upper
 * inode cache is large enough that the superblock shrinker's batches of 1024 reach XFS inode reclaim.
 */
public final class XfsOnLoop implements Scenario {
    /** The lower disk: outside the kernel's memory budget, like a real disk. */
    static final long RAM_DISK_BYTES = 512L << 20;
    static final long IMAGE_BYTES = 384L << 20;
    static final int WRITERS = 2;
    static final int READERS = 3;
    /** Files each writer keeps before it unlinks its oldest: thousands of cached upper inodes. */
    static final int FILES_PER_WRITER = 2500;
    /** File sizes, uniform between: small files, as a copied source tree's (1 KiB to 64 KiB). */
    static final int MIN_FILE = 1 << 10;
    static final int MAX_FILE = 64 << 10;
    static final long UPPER_LOG_SECTORS = 16384;
    /** mount's default logbufs and logbsize: 8 in-core log buffers of 32 KiB. */
    static final int UPPER_LOGBUFS = 8;
    static final int UPPER_LOGBSIZE = 32 << 10;

    @Override
    public String name() {
        return "xfs-on-loop";
    }

    @Override
    public String description() {
        return "XFS on loop1 on XFS: kloopd read work reclaims into the upper log, write work waits for IOLOCK";
    }

    @Override
    public KernelVersion version() {
        return KernelVersion.V4_3;
    }

    /** Dave Chinner's "single CPU, 1GB RAM VM running xfs/073". */
    @Override
    public int cpus() {
        return 1;
    }

    @Override
    public String lockdepBlindSpot() {
        return "the cycle runs through the completion of log IO and a bio owed by the loop write work, which"
                + " lockdep does not track; only the watchdog can prove it";
    }

    @Override
    public List<String> seeds() {
        return List.of("001_7f964bd8eb8e2950.txt");
    }

    /**
     * 4.3-rc3 is 4.3 before Michal Hocko's fix landed (the emulator's versions are releases): every variant
     * but the fix's own runs without it.
     */
    private static final List<Fix> RC3 = List.of(Readahead.OBEY_MAPPING_GFP);

    @Override
    public List<Variant> variants() {
        return List.of(
                new Variant("linux-4.3-rc3", "the kernel of the report: 4.3 before the fix", Outcome.DEADLOCK,
                        List.of(), RC3),
                new Variant("mapping-gfp", "4.3 as released: readahead adds pages with GFP_KERNEL & the mapping's"
                        + " GFP_NOFS", Outcome.CLEAN, List.of(Readahead.OBEY_MAPPING_GFP)),
                new Variant("loop-noio", "4.3-rc3 with the loop worker under memalloc_noio", Outcome.CLEAN,
                        List.of(LoopDevice.LOOP_MEMALLOC_NOIO), RC3),
                new Variant("nonblocking-inode-reclaim", "4.3-rc3 with inode reclaim skipping pinned inodes",
                        Outcome.CLEAN, List.of(XfsIcache.XFS_NONBLOCKING_INODE_RECLAIM), RC3));
    }

    @Override
    public Workload start(Kernel k, Variant v, long seed) {
        k.currentTask();
        // A sparse image on ram0, and an 8 MiB log on loop1, as mkfs gives a few-hundred-MiB fs: the CIL
        // holds about 1 MiB before a background push, so logged inodes stay pinned long enough for reclaim to
        // meet them.
        XfsLoopStack stack = XfsLoopStack.build(k, RAM_DISK_BYTES, IMAGE_BYTES,
                new XfsMountOptions(UPPER_LOG_SECTORS, UPPER_LOGBUFS, UPPER_LOGBSIZE));
        Xfs upper = stack.upper();
        Run run = new Run(upper, seed);
        for (int w = 0; w < WRITERS; w++) {
            // Each writer's directory stays open for the run (as a shell's cwd would), pinned in the dcache.
            upper.vfs().mkdir("/", "w" + w);
        }
        for (int w = 0; w < WRITERS; w++) {
            int id = w;
            k.kthreadRun("writer" + w, self -> run.loop.run(self, () -> run.writeOne(id)));
        }
        for (int r = 0; r < READERS; r++) {
            int id = r;
            k.kthreadRun("reader" + r, self -> run.loop.run(self, () -> run.readOne(id)));
        }
        // Real work only: bytes written and bytes read back and verified. It must move within the hung-task
        // timeout while anything runs, or the watchdog reports a stall.
        k.watchdog().registerProgress("xfs-on-loop bytes written+verified", run::workDone, 0,
                TimeUnit.MILLISECONDS.toNanos(k.config().hungTaskTimeoutMillis()));
        return run;
    }

    /** One run's workload state: the files written so far and the counters. */
    private static final class Run implements Workload {
        private final Xfs upper;
        private final Vfs vfs;
        private final long seed;
        private final AtomicLong written = new AtomicLong();
        private final AtomicLong read = new AtomicLong();
        private final CopyOnWriteArrayList<FileSpec> files = new CopyOnWriteArrayList<>();
        private final List<ConcurrentLinkedQueue<FileSpec>> perWriter = new ArrayList<>();
        private final long[] next = new long[WRITERS];
        private final long[] cursor = new long[READERS];
        private final WorkloadLoop loop = new WorkloadLoop();

        Run(Xfs upper, long seed) {
            this.upper = upper;
            this.vfs = upper.vfs();
            this.seed = seed;
            for (int w = 0; w < WRITERS; w++) {
                perWriter.add(new ConcurrentLinkedQueue<>());
            }
        }


        void writeOne(int w) {
            long n = next[w]++;
            SplittableRandom r = new SplittableRandom(seed ^ (w * 1_000_003L) ^ n);
            FileSpec f = new FileSpec("/w" + w, "f" + n, r.nextInt(MIN_FILE, MAX_FILE), r.nextLong());
            File ip = vfs.create(f.dir, f.name);
            try {
                vfs.write(ip, 0, f.content());
            } finally {
                vfs.close(ip);
            }
            written.addAndGet(f.size);
            files.add(f);
            // A short-lived temporary file, as xfs/073's copies leave behind: unlinked at once, its inode goes
            // to reclaim still pinned by the transactions that created and removed it.
            File tmp = vfs.create(f.dir, "tmp" + n);
            try {
                vfs.write(tmp, 0, new byte[4096]);
            } finally {
                vfs.close(tmp);
            }
            vfs.unlink(f.dir, "tmp" + n);
            ConcurrentLinkedQueue<FileSpec> mine = perWriter.get(w);
            mine.add(f);
            if (mine.size() > FILES_PER_WRITER) {
                FileSpec old = mine.poll();
                files.remove(old);
                vfs.unlink(old.dir, old.name);
            }
        }

        /**
         * Reads the next file of the tree and compares it, as diff -r walks a copied tree: each reader goes
         * through the files in the order they were written, from its own starting point.
         */
        void readOne(int r) {
            List<FileSpec> snapshot = files;
            if (snapshot.isEmpty()) {
                return;
            }
            long c = cursor[r]++;
            FileSpec f = snapshot.get((int) ((c + (long) r * snapshot.size() / READERS) % snapshot.size()));
            File ip;
            try {
                ip = vfs.open(f.dir + "/" + f.name);
            } catch (VfsException gone) {
                return;
            }
            try {
                byte[] got = vfs.read(ip, 0, f.size);
                if (!java.util.Arrays.equals(got, f.content())) {
                    throw new AssertionError("data mismatch in " + f.dir + "/" + f.name);
                }
                read.addAndGet(got.length);
            } finally {
                vfs.close(ip);
            }
        }

        @Override
        public String progress() {
            Mm mm = upper.kernel().mm();
            return String.format("ops %d written %dM verified %dM files %d; upper inodes reclaimed %d, unpin waits"
                    + " %d, reclaimable %d; allocstall %d, OOM %d", loop.ops(), written.get() >> 20, read.get() >> 20,
                    files.size(), upper.inodesReclaimed(), upper.reclaimUnpinWaits(), upper.nrReclaimableInodes(),
                    mm.vmstat().get(VmStatItem.ALLOCSTALL_NORMAL), mm.oomInvocations());
        }

        @Override
        public long workDone() {
            return written.get() + read.get();
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

    /** A file the workload wrote: its content is a function of its seed. */
    private record FileSpec(String dir, String name, int size, long seed) {
        byte[] content() {
            byte[] b = new byte[size];
            new SplittableRandom(seed).nextBytes(b);
            return b;
        }
    }
}
