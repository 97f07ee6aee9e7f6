package dev.reclaimlab.scenario;

import dev.reclaimlab.block.LoopDevice;
import dev.reclaimlab.block.RamDisk;
import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.LoopFile;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.fs.VfsException;
import dev.reclaimlab.fs.xfs.Xfs;
import dev.reclaimlab.fs.xfs.XfsFile;
import dev.reclaimlab.fs.xfs.XfsIcache;
import dev.reclaimlab.fs.xfs.XfsMountOptions;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelPanic;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Seed 001 (Dave Chinner, xfs/073 on a loop device, Linux 4.3-rc3): XFS on loop1 whose image file lives on
 * another XFS. kloopd1's read work holds XFS_IOLOCK_SHARED on the image and fills the lower page cache
 * with GFP_KERNEL, so it can enter direct reclaim, where the upper XFS's inode reclaim forces the upper
 * log and waits for log IO; that IO is a write to loop1, which kloopd1's write work serves by taking
 * XFS_IOLOCK_EXCL on the same image. Writers create, fill and close files on the upper XFS (pinning
 * inodes in its log) and readers read them back, checking every byte, in more data than memory holds.
 */
public final class XfsOnLoop implements Scenario {
    /** The lower disk: outside the kernel's memory budget, like a real disk. */
    static final long RAM_DISK_BYTES = 512L << 20;
    static final long IMAGE_BYTES = 384L << 20;
    static final int WRITERS = 2;
    static final int READERS = 3;
    /** Files each writer keeps before it unlinks its oldest. */
    static final int FILES_PER_WRITER = 400;
    static final int MIN_FILE = 16 << 10;
    static final int MAX_FILE = 192 << 10;
    static final long UPPER_LOG_SECTORS = 16384;
    /** mount -o logbufs=2: a push of a large checkpoint soon has every iclog under IO, as in the seed. */
    static final int UPPER_LOGBUFS = 2;

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

    @Override
    public String lockdepBlindSpot() {
        return "the cycle runs through the completion of log IO and a bio owed by the loop write work, which"
                + " lockdep does not track; only the watchdog can prove it";
    }

    @Override
    public List<String> seeds() {
        return List.of("001_7f964bd8eb8e2950.txt");
    }

    @Override
    public List<Variant> variants() {
        return List.of(
                Variant.release("linux-4.3-rc3", "the 2015 kernel", Outcome.DEADLOCK),
                new Variant("mapping-gfp", "page-cache reads obey the mapping's GFP_NOFS", Outcome.CLEAN,
                        List.of(XfsFile.OBEY_MAPPING_GFP)),
                new Variant("loop-noio", "the loop worker runs under memalloc_noio", Outcome.CLEAN,
                        List.of(LoopDevice.LOOP_MEMALLOC_NOIO)),
                new Variant("nonblocking-inode-reclaim", "inode reclaim skips pinned inodes", Outcome.CLEAN,
                        List.of(XfsIcache.XFS_NONBLOCKING_INODE_RECLAIM)));
    }

    @Override
    public Workload start(Kernel k, Variant v, long seed) {
        k.currentTask();
        RamDisk ram = new RamDisk(k, 0, RAM_DISK_BYTES);
        Xfs lower = Xfs.mount(k, ram);
        File image = lower.vfs().create("/", "loop1.img");
        // A sparse image: only its last page is written, holes read as zeros.
        lower.vfs().write(image, IMAGE_BYTES - 4096, new byte[4096]);
        LoopFile backing = new LoopFile(lower.sb(), image.inode());
        lower.vfs().close(image);
        LoopDevice loop = new LoopDevice(k, 1, backing);
        // An 8 MiB log, as mkfs gives a few-hundred-MiB fs: the CIL holds about 1 MiB before a background
        // push, so logged inodes stay pinned long enough for reclaim to meet them.
        Xfs upper = Xfs.mount(k, loop, new XfsMountOptions(UPPER_LOG_SECTORS, UPPER_LOGBUFS, 32 << 10));
        Run run = new Run(upper, seed);
        for (int w = 0; w < WRITERS; w++) {
            // Each writer's directory stays open for the run (as a shell's cwd would), pinned in the dcache.
            upper.vfs().mkdir("/", "w" + w);
        }
        for (int w = 0; w < WRITERS; w++) {
            int id = w;
            k.kthreadRun("writer" + w, self -> run.loop(self, () -> run.writeOne(id)));
        }
        for (int r = 0; r < READERS; r++) {
            k.kthreadRun("reader" + r, self -> run.loop(self, run::readOne));
        }
        k.watchdog().registerProgress("xfs-on-loop ops", run.ops::get);
        return run;
    }

    /** One run's workload state: the files written so far and the counters. */
    private static final class Run implements Workload {
        private final Xfs upper;
        private final Vfs vfs;
        private final long seed;
        final AtomicLong ops = new AtomicLong();
        private final AtomicLong written = new AtomicLong();
        private final AtomicLong read = new AtomicLong();
        private final CopyOnWriteArrayList<FileSpec> files = new CopyOnWriteArrayList<>();
        private final List<ConcurrentLinkedQueue<FileSpec>> perWriter = new ArrayList<>();
        private final long[] next = new long[WRITERS];
        private final List<String> errors = new CopyOnWriteArrayList<>();
        private volatile boolean stopping;

        Run(Xfs upper, long seed) {
            this.upper = upper;
            this.vfs = upper.vfs();
            this.seed = seed;
            for (int w = 0; w < WRITERS; w++) {
                perWriter.add(new ConcurrentLinkedQueue<>());
            }
        }

        void loop(Task self, Runnable op) {
            try {
                while (!stopping && !self.kthreadShouldStop() && errors.isEmpty()) {
                    op.run();
                    ops.incrementAndGet();
                }
            } catch (KernelPanic p) {
                throw p;
            } catch (RuntimeException | AssertionError e) {
                errors.add(self + ": " + e);
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

        void readOne() {
            List<FileSpec> snapshot = files;
            if (snapshot.isEmpty()) {
                return;
            }
            FileSpec f = snapshot.get((int) ((ops.get() * 0x9E3779B97F4A7C15L >>> 1) % snapshot.size()));
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
            return String.format("ops %d written %dM read %dM files %d; upper inodes reclaimed %d, unpin waits %d,"
                    + " reclaimable %d", ops.get(), written.get() >> 20, read.get() >> 20, files.size(),
                    upper.inodesReclaimed(), upper.reclaimUnpinWaits(), upper.nrReclaimableInodes());
        }

        @Override
        public List<String> errors() {
            return errors;
        }

        @Override
        public void stop() {
            stopping = true;
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
