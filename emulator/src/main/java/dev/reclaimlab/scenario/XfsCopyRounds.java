package dev.reclaimlab.scenario;

import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.fs.xfs.Xfs;
import dev.reclaimlab.fs.xfs.XfsMountOptions;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.WaitQueue;
import dev.reclaimlab.mm.Mm;
import dev.reclaimlab.mm.VmStatItem;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * xfs/073's rounds on the seed-001 stack (Linux 4.3), the workload of {@link XfsOnLoop}. Once, a source tree
 * of small files is written on the upper XFS (loop1). Then each round: a fresh {@code copy.img} (sparse, on
 * the lower XFS on ram0) behind {@code loop2}, a new XFS on it mounted relatime, the tree copied onto it and
 * synced; copy.img's lower page cache is then invalidated (invalidate_mapping_pages() leaves no shadow
 * entries, so its tree nodes go: the state xfs_copy's O_DIRECT writes leave) and both upper filesystems'
 * caches dropped (a fresh mount's state); then the tree is compared byte for byte, source against copy and
 * both against the content they were written with; then the copy is unmounted, loop2 detached and copy.img
 * removed. In the comparison kloopd2's read work is the first to insert every range of copy.img, so each
 * radix tree node comes from its add_to_page_cache_lru(GFP_KERNEL) preload, while the copy's first reads
 * log atime transactions that pin its inodes in its own CIL, whose push needs loop2's write work.
 *
 * <p>The driver {@code xfs073} runs the rounds; {@link XfsOnLoop#WORKERS} tasks {@code xfs073/N} do each
 * phase's file work, a slice each. A phase is handed over through two wait queues, the waits idle
 * (interruptible), as a script waits for its children.
 */
final class XfsCopyRounds implements Workload {
    private enum Phase { IDLE, POPULATE, COPY, COMPARE }

    private final Kernel k;
    private final XfsLoopStack stack;
    private final Xfs upper;
    private final long seed;
    private final XfsMountOptions copyOpts;
    private final List<FileSpec> files = new ArrayList<>();
    private final WorkloadLoop loop = new WorkloadLoop();
    private final WaitQueue phaseWait = new WaitQueue("xfs073 phase");
    private final WaitQueue doneWait = new WaitQueue("xfs073 phase done");
    private final AtomicInteger phaseDone = new AtomicInteger();
    private final AtomicLong written = new AtomicLong();
    private final AtomicLong copied = new AtomicLong();
    private final AtomicLong verified = new AtomicLong();
    private final AtomicLong rounds = new AtomicLong();
    private final AtomicLong copyInodesReclaimed = new AtomicLong();
    private final AtomicLong copyUnpinWaits = new AtomicLong();
    private volatile Phase phase = Phase.IDLE;
    private volatile long generation;
    private volatile Xfs copy;
    private boolean populated;

    XfsCopyRounds(Kernel k, XfsLoopStack stack, XfsMountOptions copyOpts, long seed) {
        this.k = k;
        this.stack = stack;
        this.upper = stack.upper();
        this.copyOpts = copyOpts;
        this.seed = seed;
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < XfsOnLoop.SOURCE_FILES; i++) {
            files.add(new FileSpec("/d" + (i % XfsOnLoop.SOURCE_DIRS), "f" + i,
                    r.nextInt(XfsOnLoop.MIN_FILE, XfsOnLoop.MAX_FILE), r.nextLong()));
        }
    }

    /** Starts the driver and the workers. */
    void start() {
        Task[] workers = new Task[XfsOnLoop.WORKERS];
        for (int w = 0; w < workers.length; w++) {
            int id = w;
            workers[w] = k.kthreadRun("xfs073/" + w, self -> worker(self, id));
        }
        doneWait.expectWakers(workers);
        Task driver = k.kthreadRun("xfs073", self -> {
            loop.run(self, this::round);
            phaseWait.wakeUp();
        });
        phaseWait.expectWaker(driver);
    }

    // ---------------------------------------------------------------- the driver

    /** One round of xfs/073's _verify_copy(): copy, sync, a cold cache, compare, remove. */
    private void round() {
        if (!populated) {
            for (int d = 0; d < XfsOnLoop.SOURCE_DIRS; d++) {
                upper.vfs().close(upper.vfs().mkdir("/", "d" + d));
            }
            if (!runPhase(Phase.POPULATE)) {
                return;
            }
            upper.sb().syncFilesystem();
            populated = true;
        }
        XfsCopyImage img = XfsCopyImage.create(k, stack.lower(), XfsOnLoop.COPY_IMAGE_BYTES, copyOpts);
        Xfs c = img.fs();
        copy = c;
        for (int d = 0; d < XfsOnLoop.SOURCE_DIRS; d++) {
            c.vfs().close(c.vfs().mkdir("/", "d" + d));
        }
        if (!runPhase(Phase.COPY)) {
            return;
        }
        img.makeCold();
        // The source is unmounted and mounted again between xfs/073's checks.
        XfsCopyImage.coldMount(upper);
        if (!runPhase(Phase.COMPARE)) {
            return;
        }
        // Counted before the unmount, whose own reclaim of every inode would hide reclaim's share.
        copyInodesReclaimed.addAndGet(c.inodesReclaimed());
        copyUnpinWaits.addAndGet(c.reclaimUnpinWaits());
        copy = null;
        img.remove();
        rounds.incrementAndGet();
    }

    /** Hands {@code p} to the workers and waits until each has done its slice; false if stopping. */
    private boolean runPhase(Phase p) {
        phaseDone.set(0);
        phase = p;
        generation++;
        phaseWait.wakeUp();
        doneWait.waitEventInterruptibleTimeout(() -> phaseDone.get() == XfsOnLoop.WORKERS || !running(), -1);
        phase = Phase.IDLE;
        return running();
    }

    private boolean running() {
        return !loop.stopping() && loop.errors().isEmpty();
    }

    // ---------------------------------------------------------------- the workers

    private void worker(Task self, int id) {
        long seen = 0;
        while (!loop.stopping() && !self.kthreadShouldStop()) {
            long s = seen;
            phaseWait.waitEventInterruptibleTimeout(() -> generation != s || !running(), -1);
            if (!running()) {
                return;
            }
            seen = generation;
            Phase p = phase;
            Xfs c = copy;
            for (int i = id; i < files.size(); i += XfsOnLoop.WORKERS) {
                FileSpec f = files.get(i);
                if (!loop.runOnce(self, () -> doFile(p, c, f))) {
                    break;
                }
            }
            phaseDone.incrementAndGet();
            doneWait.wakeUp();
        }
    }

    private void doFile(Phase p, Xfs c, FileSpec f) {
        switch (p) {
            case POPULATE -> {
                byte[] data = f.content();
                writeFile(upper.vfs(), f, data);
                written.addAndGet(data.length);
            }
            case COPY -> {
                // cp: read the source file, write it to the copy.
                byte[] data = readFile(upper.vfs(), f);
                writeFile(c.vfs(), f, data);
                copied.addAndGet(data.length);
            }
            case COMPARE -> {
                // diff -r: both trees, byte for byte (and against the content they were written with).
                byte[] a = readFile(upper.vfs(), f);
                byte[] b = readFile(c.vfs(), f);
                if (!Arrays.equals(a, b) || !Arrays.equals(a, f.content())) {
                    throw new AssertionError("data mismatch in " + f.dir + "/" + f.name);
                }
                verified.addAndGet(a.length + b.length);
            }
            default -> throw new IllegalStateException("no work in phase " + p);
        }
    }

    private static void writeFile(Vfs vfs, FileSpec f, byte[] data) {
        File ip = vfs.create(f.dir, f.name);
        try {
            vfs.write(ip, 0, data);
        } finally {
            vfs.close(ip);
        }
    }

    private static byte[] readFile(Vfs vfs, FileSpec f) {
        File ip = vfs.open(f.dir + "/" + f.name);
        try {
            return vfs.read(ip, 0, f.size);
        } finally {
            vfs.close(ip);
        }
    }

    // ---------------------------------------------------------------- Workload

    @Override
    public String progress() {
        Mm mm = k.mm();
        Xfs c = copy;
        return String.format("round %d %s; written %dM copied %dM verified %dM; upper inodes reclaimed %d, unpin"
                        + " waits %d; copy inodes reclaimed %d, unpin waits %d; allocstall %d, OOM %d", rounds.get(),
                phase, written.get() >> 20, copied.get() >> 20, verified.get() >> 20, upper.inodesReclaimed(),
                upper.reclaimUnpinWaits(), copyInodesReclaimed.get() + (c == null ? 0 : c.inodesReclaimed()),
                copyUnpinWaits.get() + (c == null ? 0 : c.reclaimUnpinWaits()),
                mm.vmstat().get(VmStatItem.ALLOCSTALL_NORMAL), mm.oomInvocations());
    }

    @Override
    public long workDone() {
        return written.get() + copied.get() + verified.get();
    }

    @Override
    public List<String> errors() {
        return loop.errors();
    }

    @Override
    public void stop() {
        loop.stop();
        phaseWait.wakeUp();
        doneWait.wakeUp();
    }

    /** A file of the tree: its content is a function of its seed. */
    record FileSpec(String dir, String name, int size, long seed) {
        byte[] content() {
            byte[] b = new byte[size];
            new SplittableRandom(seed).nextBytes(b);
            return b;
        }
    }
}
