package dev.reclaimlab.scenario;

import dev.reclaimlab.block.RamDisk;
import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.fs.xfs.Xfs;
import dev.reclaimlab.fs.xfs.XfsBuf;
import dev.reclaimlab.fs.xfs.XfsIcache;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.locking.LockdepReport;
import dev.reclaimlab.mm.VmStatItem;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Seed 002 (Dave Chinner, Vlastimil Babka, Aug 2019, Linux 5.3): lockdep's XFS_ILOCK -> fs_reclaim ->
 * XFS_ILOCK. Readdir and lookup hold a directory's ILOCK_SHARED while they read directory blocks into
 * xfs_bufs, whose memory is allocated on a buffer-cache miss; inode reclaim, below reclaim, takes the ILOCK
 * of reclaimable directory inodes. Dave: it is false, because above reclaim only referenced inodes are
 * locked and below it only unreferenced ones. 5.3 as released allocates that memory with KM_NOFS / GFP_NOFS
 * precisely so lockdep never sees it (no report); {@code gfp-kernel-buffers} is his proposal of dropping
 * the tags, which lockdep reports, and reclaimlab's verdict says UNCONFIRMED. The fixes run on top of it;
 * the control lets reclaim lock referenced inodes too, which is a real deadlock.
 *
 * <p>The workload: readers walk a tree of directories (readdir, then open, read and compare files), churn
 * writers make, fill and remove subdirectories of their own (each rmdir leaves a reclaimable directory
 * inode). Every variant is 5.3 and the same code; the variants are switches (DESIGN.md rule 4). The tree's data is larger than memory, so kswapd and direct reclaim run all the time: the
 * superblock shrinker prunes dentries and inodes and reclaims XFS inodes, and the buffer shrinker frees
 * directory buffers, so readdir and lookup keep allocating new ones.
 */
public final class XfsIlockFalsePositive implements Scenario {
    static final long RAM_DISK_BYTES = 256L << 20;
    static final int TREE_DIRS = 48;
    static final int FILES_PER_DIR = 48;
    static final int MIN_FILE = 4 << 10;
    static final int MAX_FILE = 48 << 10;
    static final int READERS = 3;
    static final int WRITERS = 2;
    /** Subdirectories each churn writer keeps before it removes its oldest. */
    static final int SUBDIRS_KEPT = 4;
    static final int FILES_PER_SUBDIR = 4;

    @Override
    public String name() {
        return "xfs-ilock-false-positive";
    }

    @Override
    public String description() {
        return "readdir holds a directory's ILOCK across xfs_buf allocations; inode reclaim takes ILOCKs of"
                + " unreferenced inodes";
    }

    @Override
    public KernelVersion version() {
        return KernelVersion.V5_3;
    }

    @Override
    public List<String> seeds() {
        return List.of("002_1d116c5ec2d4a8d5.txt");
    }

    @Override
    public String lockdepBlindSpot() {
        return "nothing: the control's cycle is an XFS_ILOCK lockdep tracks; what lockdep cannot tell is whether"
                + " one inode is on both sides";
    }

    @Override
    public List<Variant> variants() {
        List<dev.reclaimlab.kernel.Fix> k = List.of(XfsBuf.XFS_BUF_GFP_KERNEL);
        return List.of(
                Variant.release("linux-5.3", "5.3 as released: directory buffers come from KM_NOFS / GFP_NOFS, so"
                        + " lockdep never sees fs reclaim under the ILOCK", Outcome.CLEAN),
                new Variant("gfp-kernel-buffers", "Dave Chinner's proposal in the seed: xfs_buf memory with"
                        + " GFP_KERNEL; lockdep reports ILOCK -> fs_reclaim -> ILOCK", Outcome.LOCKDEP, k),
                new Variant("reclaim-trylock", "gfp-kernel-buffers, with every ILOCK in inode reclaim an"
                        + " xfs_ilock_nowait()", Outcome.CLEAN, List.of(XfsBuf.XFS_BUF_GFP_KERNEL,
                        XfsIcache.XFS_RECLAIM_ILOCK_NOWAIT)),
                new Variant("reclaimable-ilock-class", "gfp-kernel-buffers, with the ILOCK of an evicted inode in a"
                        + " class of its own until it is recycled", Outcome.CLEAN, List.of(XfsBuf.XFS_BUF_GFP_KERNEL,
                        XfsIcache.XFS_RECLAIMABLE_ILOCK_CLASS)),
                new Variant("gfp-nolockdep", "gfp-kernel-buffers, with the buffer allocations marked"
                        + " __GFP_NOLOCKDEP (4.12)", Outcome.CLEAN, List.of(XfsBuf.XFS_BUF_GFP_KERNEL,
                        XfsBuf.XFS_BUF_NOLOCKDEP)).leaving(LockdepReport.Type.RECURSIVE, "__GFP_NOLOCKDEP hides the"
                        + " buffer allocation from lockdep, not the directory ILOCK that inode reclaim takes below"
                        + " it while the allocating task holds its own"),
                new Variant("referenced-reclaim", "control, not a kernel: gfp-kernel-buffers, and inode reclaim"
                        + " also locks referenced inodes", Outcome.DEADLOCK, List.of(XfsBuf.XFS_BUF_GFP_KERNEL,
                        XfsIcache.XFS_RECLAIM_REFERENCED)));
    }

    @Override
    public Workload start(Kernel k, Variant v, long seed) {
        k.currentTask();
        Xfs xfs = Xfs.mount(k, new RamDisk(k, 0, RAM_DISK_BYTES));
        Run run = new Run(xfs, seed);
        run.populate();
        for (int r = 0; r < READERS; r++) {
            int id = r;
            k.kthreadRun("reader" + r, self -> run.loop.run(self, () -> run.readOne(id)));
        }
        for (int w = 0; w < WRITERS; w++) {
            int id = w;
            k.kthreadRun("churn" + w, self -> run.loop.run(self, () -> run.churnOne(id)));
        }
        k.watchdog().registerProgress(name() + " bytes written+verified", run::workDone, 0,
                TimeUnit.MILLISECONDS.toNanos(k.config().hungTaskTimeoutMillis()));
        return run;
    }

    /** One run's state. */
    static final class Run implements Workload {
        private final Xfs xfs;
        private final Vfs vfs;
        private final long seed;
        private final AtomicLong readdirs = new AtomicLong();
        private final AtomicLong written = new AtomicLong();
        private final AtomicLong verified = new AtomicLong();
        private final long[] cursor = new long[READERS];
        private final long[] next = new long[WRITERS];
        private final List<ArrayDeque<Long>> kept = List.of(new ArrayDeque<>(), new ArrayDeque<>());
        private final WorkloadLoop loop = new WorkloadLoop();

        Run(Xfs xfs, long seed) {
            this.xfs = xfs;
            this.vfs = xfs.vfs();
            this.seed = seed;
        }

        /** The tree, written once; each writer's churn directory. */
        void populate() {
            for (int d = 0; d < TREE_DIRS; d++) {
                vfs.close(vfs.mkdir("/", "d" + d));
            }
            for (int w = 0; w < WRITERS; w++) {
                vfs.close(vfs.mkdir("/", "churn" + w));
            }
            for (int d = 0; d < TREE_DIRS; d++) {
                for (int f = 0; f < FILES_PER_DIR; f++) {
                    byte[] b = content(d, f);
                    File fp = vfs.create("/d" + d, "f" + f);
                    try {
                        vfs.write(fp, 0, b);
                    } finally {
                        vfs.close(fp);
                    }
                    written.addAndGet(b.length);
                }
            }
        }

        byte[] content(int d, int f) {
            SplittableRandom r = new SplittableRandom(seed ^ (d * 1_000_003L) ^ (f * 7919L));
            byte[] b = new byte[r.nextInt(MIN_FILE, MAX_FILE)];
            r.nextBytes(b);
            return b;
        }


        /** ls of a tree directory, then a few of its files read and compared, as a find | xargs cat would. */
        void readOne(int r) {
            long c = cursor[r]++;
            int d = (int) ((c + (long) r * TREE_DIRS / READERS) % TREE_DIRS);
            List<String> names = vfs.readdir("/d" + d);
            readdirs.incrementAndGet();
            if (names.size() != FILES_PER_DIR) {
                throw new AssertionError("readdir(/d" + d + ") gave " + names.size() + " names, not " + FILES_PER_DIR);
            }
            SplittableRandom rnd = new SplittableRandom(seed ^ c ^ (r * 31L));
            for (int i = 0; i < 4; i++) {
                int f = rnd.nextInt(FILES_PER_DIR);
                byte[] want = content(d, f);
                File fp = vfs.open("/d" + d + "/f" + f);
                try {
                    byte[] got = vfs.read(fp, 0, want.length);
                    if (!Arrays.equals(got, want)) {
                        throw new AssertionError("data mismatch in /d" + d + "/f" + f);
                    }
                    verified.addAndGet(got.length);
                } finally {
                    vfs.close(fp);
                }
            }
        }

        /** A new subdirectory with a few files; the oldest beyond {@link #SUBDIRS_KEPT} is emptied and removed. */
        void churnOne(int w) {
            long n = next[w]++;
            String dir = "/churn" + w;
            vfs.close(vfs.mkdir(dir, "s" + n));
            SplittableRandom r = new SplittableRandom(seed ^ (w * 104_729L) ^ n);
            for (int f = 0; f < FILES_PER_SUBDIR; f++) {
                byte[] b = new byte[r.nextInt(MIN_FILE, MAX_FILE)];
                File fp = vfs.create(dir + "/s" + n, "c" + f);
                try {
                    vfs.write(fp, 0, b);
                } finally {
                    vfs.close(fp);
                }
                written.addAndGet(b.length);
            }
            ArrayDeque<Long> mine = kept.get(w);
            mine.add(n);
            if (mine.size() > SUBDIRS_KEPT) {
                long old = mine.poll();
                String sub = dir + "/s" + old;
                for (String name : vfs.readdir(sub)) {
                    vfs.unlink(sub, name);
                }
                vfs.rmdir(dir, "s" + old);
            }
        }

        @Override
        public String progress() {
            return String.format("ops %d readdirs %d written %dM verified %dM; dir buffers allocated %d freed %d;"
                    + " inodes reclaimed %d, referenced ILOCKs taken in reclaim %d; allocstall %d",
                    loop.ops(), readdirs.get(), written.get() >> 20, verified.get() >> 20, xfs.bufsAllocated(),
                    xfs.bufsFreed(), xfs.inodesReclaimed(), xfs.reclaimLockedReferenced(),
                    xfs.kernel().mm().vmstat().get(VmStatItem.ALLOCSTALL_NORMAL));
        }

        @Override
        public long workDone() {
            return written.get() + verified.get();
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
