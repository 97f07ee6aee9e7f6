package dev.reclaimlab.scenario;

import dev.reclaimlab.block.LoopDevice;
import dev.reclaimlab.fs.xfs.XfsIcache;
import dev.reclaimlab.fs.xfs.XfsMountOptions;
import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.mm.Readahead;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Seed 001 (Dave Chinner, xfs/073 on a loop device, Linux 4.3-rc3): XFS on loop1 whose image file lives on
 * another XFS. kloopd1's read work holds XFS_IOLOCK_SHARED on the image and reads it through 4.3's
 * readahead, whose mpage_readpages() adds the pages to the lower cache with add_to_page_cache_lru(GFP_KERNEL):
 * preloading a radix tree node there can enter direct reclaim, where the upper XFS's inode reclaim forces
 * the upper log and waits for log IO; that IO is a write to loop1, which kloopd1's write work serves by
 * taking XFS_IOLOCK_EXCL on the same image. The pages themselves come from the mapping's GFP_NOFS.
 *
 * <p>The workload is xfs/073's ({@link XfsCopyRounds}): a source tree of small files on the upper XFS, then
 * rounds of copying it to a fresh XFS on loop2 over copy.img (another sparse file on the lower XFS), making
 * that copy cold as xfs_copy's O_DIRECT image and a fresh mount leave it, comparing the two trees under
 * relatime, and removing the copy. The comparison's loop2 reads are the first to fill copy.img's page cache,
 * so kloopd2's read work makes every radix tree node of it with GFP_KERNEL preloads, while the first reads of
 * the copied files pin them in the copy's CIL with atime transactions.
 */
public final class XfsOnLoop implements Scenario {
    /** The lower disk: outside the kernel's memory budget, like a real disk. */
    static final long RAM_DISK_BYTES = 512L << 20;
    static final long IMAGE_BYTES = 384L << 20;
    /** Files of the source tree and its directories: thousands of inodes on each side, as a copied tree's. */
    static final int SOURCE_FILES = 2400;
    static final int SOURCE_DIRS = 4;
    /** Tasks sharing each phase's files (cp and diff, as the three readers before). */
    static final int WORKERS = 3;
    /** File sizes, uniform between: small files, as a copied source tree's (1 KiB to 64 KiB). */
    static final int MIN_FILE = 1 << 10;
    static final int MAX_FILE = 64 << 10;
    /** The copy's image: the tree (about 78 MiB) and an 8 MiB log with room to spare. */
    static final long COPY_IMAGE_BYTES = 128L << 20;
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
        // meet them. xfs/073 mounts with the defaults: 4.3's are relatime.
        XfsMountOptions opts = new XfsMountOptions(UPPER_LOG_SECTORS, UPPER_LOGBUFS, UPPER_LOGBSIZE, true);
        XfsLoopStack stack = XfsLoopStack.build(k, RAM_DISK_BYTES, IMAGE_BYTES, opts);
        XfsCopyRounds run = new XfsCopyRounds(k, stack, opts, seed);
        run.start();
        // Real work only: bytes written, copied, and read back and compared. It must move within the
        // hung-task timeout while anything runs, or the watchdog reports a stall.
        k.watchdog().registerProgress("xfs-on-loop bytes written+copied+verified", run::workDone, 0,
                TimeUnit.MILLISECONDS.toNanos(k.config().hungTaskTimeoutMillis()));
        return run;
    }
}
