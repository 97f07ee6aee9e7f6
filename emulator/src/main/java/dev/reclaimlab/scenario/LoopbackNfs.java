package dev.reclaimlab.scenario;

import dev.reclaimlab.fs.Dcache;
import dev.reclaimlab.fs.Dirents;
import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.fs.VfsException;
import dev.reclaimlab.fs.xfs.Xfs;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.mm.UserBuffer;
import dev.reclaimlab.mm.VmStatItem;
import dev.reclaimlab.nfs.NfsFile;
import dev.reclaimlab.nfs.NfsServer;
import dev.reclaimlab.nfsd.Nfsd;
import dev.reclaimlab.sunrpc.RpcTask;
import dev.reclaimlab.watchdog.BlockedTask;
import dev.reclaimlab.watchdog.WatchdogReport;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Seeds 000 and 003 (NeilBrown and Dave Chinner on __d_alloc and i_mutex; NeilBrown's "Support loop-back
 * NFS mounts", April 2014), Linux 3.14: an NFS client mounts, over loop-back, an XFS that nfsd on the same
 * host exports. Local tasks create, remove and look up names in the exported directories holding the
 * directory's i_mutex across __d_alloc(GFP_KERNEL); NFS writers leave UNSTABLE pages that only a COMMIT
 * frees; NFS tasks look names up in the same directories (each LOOKUP makes an nfsd thread take that
 * i_mutex), most of them stat()ing names whose directory changed, so nfs_lookup_revalidate() sends the
 * LOOKUP without the client directory's i_mutex and many can wait for one directory at once; local listers
 * (new processes running getdents64()) fault their fresh buffers in under the directory's i_mutex with
 * GFP_HIGHUSER_MOVABLE; a local reader turns the page cache over fast enough that reclaim reaches UNSTABLE pages
 * before their COMMIT. When memory is short, a reclaimer meets an NFS page in nfs_release_page() and
 * waits, killable and for ever, for a COMMIT that needs an nfsd thread; every nfsd thread waits for the
 * i_mutex the reclaimer holds, or is itself in reclaim waiting for a COMMIT (svc_alloc_arg()'s
 * alloc_page(GFP_KERNEL)).
 */
public final class LoopbackNfs implements Scenario {
    /** The exported XFS's disk: outside the kernel's memory budget, like a real disk. */
    static final long DISK_BYTES = 512L << 20;
    /** The disk's bandwidth: the bottleneck of the stack, as the seeds' disks were. */
    static final long DISK_BYTES_PER_SECOND = 8L << 20;
    static final int EXPORTED_DIRS = 4;
    static final int LOCALS = 4;
    static final int WRITERS = 4;
    static final int LOOKERS = 2;
    /**
     * Client processes stat()ing existing files in the exported directories (a parallel build checking its
     * sources, shells, a file server's workers): twice nfsd's 8 threads. Each stat of a name whose directory
     * changed since its dentry was checked is a LOOKUP (nfs_lookup_revalidate()) sent without the client
     * directory's i_mutex, so unlike lookups of absent names they are not serialised per directory.
     */
    static final int STATTERS = 16;
    /** Files in each exported directory, made before the workload starts, that the stat tasks look at. */
    static final int FILES_PER_DIR = 16;
    /** A stat task's pause between two stat() calls (the work a build does between them). */
    static final long STAT_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(2);
    /** Files each local task keeps before it removes its oldest. */
    static final int LOCAL_FILES = 300;
    /** NFS files: written in 64 KiB writes, 1 to 6 MiB each, each writer keeping its last two. */
    static final int WRITE_CHUNK = 64 << 10;
    static final int MIN_NFS_FILE = 4 << 20;
    static final int MAX_NFS_FILE = 12 << 20;
    /** A local name long enough for __d_alloc()'s external name (DNAME_INLINE_LEN is 32). */
    static final String LONG = "-created-by-a-local-task-holding-i_mutex";
    /** memhog: 45 % of memory, 3 % of it given back and taken again every 25 ms: another program's memory. */
    static final Memhog MEMHOG = new Memhog(45, 3, TimeUnit.MILLISECONDS.toNanos(25));
    /**
     * A local reader streams a large file on the exported XFS (an indexer or a backup reading local data),
     * 64 KiB every 1.5 ms, about 40 MiB/s: the page cache turns over faster than NFS writes fill it, so
     * reclaim reaches pages the client wrote UNSTABLE before their COMMIT. The file is sparse, so its
     * pages come without IO and the disk stays nfsd's.
     */
    static final long READER_FILE_BYTES = 256L << 20;
    static final int READ_CHUNK = 64 << 10;
    static final long READ_PAUSE_NANOS = TimeUnit.MICROSECONDS.toNanos(1500);
    /**
     * Six local loops (shell loops, a parallel build's globs, a monitoring script) each list an exported
     * directory every 10 ms, each listing a new process: glibc's opendir() mallocs a 32 KiB buffer in its fresh
     * heap, and getdents64() faults the buffer's pages in under the directory's i_mutex (GFP_HIGHUSER_MOVABLE).
     * Six, not three, for the rate: each is one more holder that may reclaim under the i_mutex (README).
     */
    static final int LISTERS = 6;
    static final long LIST_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    /** glibc's __alloc_dir(): 4 * BUFSIZ, behind struct __dirstream in one malloc()ed block. */
    static final int DIR_BUF = 32 << 10;
    static final int DIRSTREAM = 48;

    @Override
    public String name() {
        return "loopback-nfs";
    }

    @Override
    public String description() {
        return "NFS mounted from nfsd on the same host: a local i_mutex holder reclaims into nfs_release_page,"
                + " whose COMMIT needs an nfsd thread that waits for that i_mutex";
    }

    @Override
    public KernelVersion version() {
        return KernelVersion.V3_14;
    }

    @Override
    public List<String> seeds() {
        return List.of("000_9c193eea61855b56.txt", "003_7b08768e9738acfe.txt");
    }

    @Override
    public String lockdepBlindSpot() {
        return "nfsd's requests are not reclaim context to 3.14's lockdep, and the cycle closes through a COMMIT"
                + " owed by whichever nfsd thread receives it (an RPC lockdep cannot see); with RFC 06/19's"
                + " annotation (nfsd_lockdep_reclaim) lockdep sees the i_mutex taken in reclaim context";
    }

    /** 3.18's nfs_release_page(), the September 2014 series: release-page-timeout's and loopback-nfs-throttle's. */
    static final List<Fix> RELEASE_PAGE_318 = List.of(NfsFile.NFS_RELEASE_PAGE_TIMEOUT,
            NfsFile.NFS_RELEASE_PAGE_CONGESTED, NfsFile.NFS_RELEASE_PAGE_NO_FSTRANS, RpcTask.RPCIOD_NO_FSTRANS);

    @Override
    public List<Variant> variants() {
        return List.of(
                Variant.release("linux-3.14", "3.14 with rpc.nfsd 8 (the distributions' default)", Outcome.DEADLOCK),
                Variant.release("linux-3.14-nfsd1", "3.14 with rpc.nfsd 1", Outcome.DEADLOCK),
                new Variant("linux-3.14-lockdep-nfsd1", "3.14 with rpc.nfsd 1, nfsd's loop-back requests annotated as"
                        + " reclaim context for lockdep (RFC 06/19's lockdep_set_current_reclaim_state)",
                        Outcome.DEADLOCK,
                        List.of(Nfsd.NFSD_LOCKDEP_RECLAIM)),
                // Incomplete, as Chinner said of it in seed 000: a local unlink's lookup that misses the inode
                // cache still allocates in xfs_iget() with GFP_KERNEL under the directory's i_mutex.
                new Variant("d-alloc-nofs", "RFC 16/19: __d_alloc with GFP_NOFS (never merged), with RFC 06/19's"
                        + " nfsd PF_FSTRANS and 04/19's universal PF_FSTRANS it was posted with; xfs_iget() under"
                        + " an unlink's i_mutex is still GFP_KERNEL, so the cycle remains, rarer", Outcome.DEADLOCK,
                        List.of(Dcache.D_ALLOC_NOFS, Nfsd.NFSD_PF_FSTRANS, Xfs.PF_FSTRANS_UNIVERSAL)),
                new Variant("pf-fstrans", "the RFC's rule: PF_FSTRANS while holding an exported directory's"
                        + " i_mutex, and in nfsd serving loop-back requests (06/19)", Outcome.CLEAN,
                        List.of(Vfs.EXPORTED_DIR_FSTRANS, Nfsd.NFSD_PF_FSTRANS, Xfs.PF_FSTRANS_UNIVERSAL)),
                new Variant("release-page-timeout", "3.18: async commit, wait bounded by HZ, none when congested"
                        + " (9590544694bec and the rest of the September 2014 series)", Outcome.CLEAN,
                        RELEASE_PAGE_318),
                new Variant("no-commit-in-releasepage", "Trond's 4f52b6bb: no COMMIT in ->releasepage()",
                        Outcome.CLEAN, List.of(NfsFile.NFS_RELEASEPAGE_NO_COMMIT)));
    }

    /** The name of shared file {@code f} of each exported directory. */
    static String sharedName(int f) {
        return "src" + f + ".c";
    }

    /** rpc.nfsd N of the variant: 1 for the "-nfsd1" variants, else 8. */
    static int nfsdThreads(Variant v) {
        return v.name().endsWith("-nfsd1") ? 1 : 8;
    }

    @Override
    public Workload start(Kernel k, Variant v, long seed) {
        k.currentTask();
        NfsLoopStack stack = NfsLoopStack.build(k, DISK_BYTES, DISK_BYTES_PER_SECOND, nfsdThreads(v));
        for (int d = 0; d < EXPORTED_DIRS; d++) {
            Vfs xv = stack.xfs().vfs();
            xv.mkdir("/", "d" + d).inode();
            for (int f = 0; f < FILES_PER_DIR; f++) {
                xv.close(xv.create("/d" + d, sharedName(f)));
            }
        }
        stack.nfs().vfs().mkdir("/", "nfs");
        Run run = new Run(k, stack, seed);
        for (int i = 0; i < LOCALS; i++) {
            int id = i;
            k.kthreadRun("local" + i, self -> run.loop.run(self, () -> run.localOne(id)));
        }
        for (int i = 0; i < WRITERS; i++) {
            int id = i;
            k.kthreadRun("nfswriter" + i, self -> run.loop.run(self, () -> run.writeOne(id)));
        }
        for (int i = 0; i < LOOKERS; i++) {
            int id = i;
            k.kthreadRun("nfslookup" + i, self -> run.loop.run(self, () -> run.lookupOne(id)));
        }
        for (int i = 0; i < STATTERS; i++) {
            int id = i;
            k.kthreadRun("nfsstat" + i, self -> run.loop.run(self, () -> run.statOne(id)));
        }
        k.kthreadRun("memhog", self -> MEMHOG.run(self, k, run.loop));
        File big = stack.xfs().vfs().create("/", "big");
        stack.xfs().vfs().write(big, READER_FILE_BYTES - 1, new byte[1]);
        k.kthreadRun("localreader", self -> run.loop.run(self, () -> run.readOne(big)));
        for (int i = 0; i < LISTERS; i++) {
            int id = i;
            k.kthreadRun("localls" + i, self -> run.loop.run(self, () -> run.listOne(id)));
        }
        k.watchdog().addReportListener(r -> {
            if (r.type() == WatchdogReport.Type.DEADLOCK) {
                k.printk(hungTaskView(r, TimeUnit.MILLISECONDS.toSeconds(k.config().hungTaskTimeoutMillis())));
            }
        });
        k.watchdog().registerProgress("loopback-nfs bytes written+verified and names made", run::workDone, 0,
                TimeUnit.MILLISECONDS.toNanos(k.config().hungTaskTimeoutMillis()));
        return run;
    }

    /**
     * What 3.14's khungtaskd would print for the tasks of a proven deadlock: only those in exactly
     * TASK_UNINTERRUPTIBLE ("use == to skip the TASK_KILLABLE tasks waiting on NFS"), so the nfsd threads on
     * the i_mutex, never the reclaimer waiting for the COMMIT.
     */
    public static String hungTaskView(WatchdogReport deadlock, long timeoutSecs) {
        StringBuilder sb = new StringBuilder("hung_task (3.14 rule) would report:\n");
        int n = 0;
        List<BlockedTask> all = deadlock.blockedTasks();
        for (BlockedTask t : all) {
            if (hungTaskWouldReport(t)) {
                sb.append("INFO: task ").append(t.task()).append(" blocked for more than ").append(timeoutSecs)
                        .append(" seconds.\n");
                n++;
            } else {
                sb.append("  (skipped: ").append(t.task()).append(" sleeps TASK_KILLABLE on ").append(t.waitsOn())
                        .append(")\n");
            }
        }
        if (n == 0) {
            sb.append("  nothing: every task of the cycle sleeps TASK_KILLABLE\n");
        }
        return sb.toString();
    }

    /**
     * Which of the scenario's two cycles a proven deadlock is, from every stuck task's wait: the i_mutex cycle
     * when an nfsd thread waits for a directory i_mutex whose holder is itself in nfs_release_page() (a local
     * task, as in the seeds, or an nfsd thread serving a name operation), else nfsd's self-deadlock when every
     * nfsd thread is in nfs_release_page(); with how many nfsd threads wait on the i_mutex and how many in
     * reclaim.
     */
    public static String cycleKind(WatchdogReport deadlock) {
        List<BlockedTask> all = deadlock.blockedTasks();
        java.util.Map<String, BlockedTask> byName = new java.util.HashMap<>();
        for (BlockedTask t : all) {
            byName.put(t.task(), t);
        }
        int nfsd = 0;
        int onMutex = 0;
        int inReclaim = 0;
        java.util.Set<String> holders = new java.util.TreeSet<>();
        for (BlockedTask t : all) {
            if (!"nfsd".equals(t.comm())) {
                continue;
            }
            nfsd++;
            if (hasFrame(t, "nfsReleasePage")) {
                inReclaim++;
            } else if ("mutex".equals(t.kind()) && hasFrame(t, "fhLockNested")) {
                onMutex++;
                for (String w : t.wakers()) {
                    BlockedTask h = byName.get(w);
                    if (h != null && hasFrame(h, "nfsReleasePage")) {
                        holders.add(w);
                    }
                }
            }
        }
        String threads = "nfsd threads: " + onMutex + " on an i_mutex, " + inReclaim + " in nfs_release_page, of "
                + nfsd;
        if (!holders.isEmpty()) {
            return "i_mutex cycle (holder " + String.join(", ", holders) + " in nfs_release_page); " + threads;
        }
        return (nfsd > 0 && inReclaim == nfsd ? "nfsd self-deadlock; " : "other; ") + threads;
    }

    private static boolean hasFrame(BlockedTask t, String method) {
        for (String f : t.stack()) {
            if (f.startsWith(method + " ")) {
                return true;
            }
        }
        return false;
    }

    /** check_hung_uninterruptible_tasks()'s test: D state, not killable, not spinning. */
    public static boolean hungTaskWouldReport(BlockedTask t) {
        return t.state() == 'D' && !t.killable() && !t.timed();
    }

    /** One run's workload state and counters. */
    private static final class Run implements Workload {
        private final Kernel k;
        private final NfsLoopStack s;
        private final Vfs local;
        private final Vfs nfs;
        private final long seed;
        private final AtomicLong written = new AtomicLong();
        private final AtomicLong verified = new AtomicLong();
        private final AtomicLong names = new AtomicLong();
        private final AtomicLong lookups = new AtomicLong();
        private final long[] localNext = new long[LOCALS];
        private final long[] writeNext = new long[WRITERS];
        private final long[] lookNext = new long[LOOKERS];
        private final long[] statNext = new long[STATTERS];
        private final AtomicLong stats = new AtomicLong();
        private final dev.reclaimlab.locking.WaitQueue statPause = new dev.reclaimlab.locking.WaitQueue(
                "nfsstat pause");
        private final List<ConcurrentLinkedQueue<String>> localFiles = new ArrayList<>();
        private final List<ConcurrentLinkedQueue<NfsFileSpec>> nfsFiles = new ArrayList<>();
        private final WorkloadLoop loop = new WorkloadLoop();
        private final dev.reclaimlab.locking.WaitQueue readPause = new dev.reclaimlab.locking.WaitQueue(
                "localreader pause");
        private long readOff;
        private final long[] listNext = new long[LISTERS];
        private final AtomicLong listings = new AtomicLong();
        private final AtomicLong listFaults = new AtomicLong();
        private final dev.reclaimlab.locking.WaitQueue listPause = new dev.reclaimlab.locking.WaitQueue(
                "localls pause");

        Run(Kernel k, NfsLoopStack s, long seed) {
            this.k = k;
            this.s = s;
            this.local = s.xfs().vfs();
            this.nfs = s.nfs().vfs();
            this.seed = seed;
            for (int i = 0; i < LOCALS; i++) {
                localFiles.add(new ConcurrentLinkedQueue<>());
            }
            for (int i = 0; i < WRITERS; i++) {
                nfsFiles.add(new ConcurrentLinkedQueue<>());
            }
        }


        /**
         * A local task: creat() a file with a long name in an exported directory (i_mutex, I_MUTEX_PARENT here
         * as for mkdir and unlink, then __d_alloc(GFP_KERNEL) with an external name), write a page to it,
         * close it; remove its oldest file (i_mutex again, __d_alloc for the lookup).
         */
        void localOne(int id) {
            long n = localNext[id]++;
            SplittableRandom r = new SplittableRandom(seed ^ (id * 7919L) ^ n);
            String dir = "/d" + r.nextInt(EXPORTED_DIRS);
            String name = "l" + id + "-" + n + LONG;
            File f = local.create(dir, name);
            try {
                local.write(f, 0, new byte[512]);
            } finally {
                local.close(f);
            }
            names.incrementAndGet();
            ConcurrentLinkedQueue<String> mine = localFiles.get(id);
            mine.add(dir + "/" + name);
            if (mine.size() > LOCAL_FILES) {
                String old = mine.poll();
                int slash = old.lastIndexOf('/');
                local.unlink(old.substring(0, slash), old.substring(slash + 1));
            }
        }

        /** An NFS writer: a file of 4-12 MiB in 64 KiB writes, closed (which commits), parts read back and compared. */
        void writeOne(int id) {
            long n = writeNext[id]++;
            SplittableRandom r = new SplittableRandom(seed ^ (id * 1_000_003L) ^ (n << 20));
            NfsFileSpec spec = new NfsFileSpec("/nfs", "w" + id + "-" + n, r.nextInt(MIN_NFS_FILE, MAX_NFS_FILE),
                    r.nextLong());
            File f = nfs.create(spec.dir, spec.name);
            try {
                for (long off = 0; off < spec.size && !loop.stopping(); off += WRITE_CHUNK) {
                    int len = (int) Math.min(WRITE_CHUNK, spec.size - off);
                    nfs.write(f, off, spec.chunk(off, len));
                    written.addAndGet(len);
                }
            } finally {
                nfs.close(f);
            }
            ConcurrentLinkedQueue<NfsFileSpec> mine = nfsFiles.get(id);
            mine.add(spec);
            NfsFileSpec check = mine.peek();
            if (check != null && !loop.stopping()) {
                verify(check);
            }
            if (mine.size() > 1) {
                NfsFileSpec old = mine.poll();
                nfs.unlink(old.dir, old.name);
            }
        }

        /**
         * Reads three chunks of the file back (the first, the last and one at a seeded offset) and compares
         * them byte for byte: every page a sync READ when reclaim took the cached copy, so the whole file would
         * leave the writer reading more than it writes (the tests read whole files back).
         */
        private void verify(NfsFileSpec spec) {
            File f = nfs.open(spec.dir + "/" + spec.name);
            try {
                long chunks = (spec.size + WRITE_CHUNK - 1) / WRITE_CHUNK;
                long pick = new SplittableRandom(spec.seed).nextLong(chunks);
                for (long c : new long[] {0, pick, chunks - 1}) {
                    long off = c * WRITE_CHUNK;
                    int len = (int) Math.min(WRITE_CHUNK, spec.size - off);
                    byte[] got = nfs.read(f, off, len);
                    if (!java.util.Arrays.equals(got, spec.chunk(off, len))) {
                        throw new AssertionError("data mismatch in " + spec.dir + "/" + spec.name + " at " + off);
                    }
                    verified.addAndGet(len);
                }
            } finally {
                nfs.close(f);
            }
        }

        /** The local reader: the next 64 KiB of the sparse file (wrapping at its end), then a pause. */
        void readOne(File big) {
            local.read(big, readOff, READ_CHUNK);
            readOff = (readOff + READ_CHUNK) % READER_FILE_BYTES;
            readPause.waitEventInterruptibleTimeout(loop::stopping, READ_PAUSE_NANOS);
        }

        /**
         * The local lister: a new process opens an exported directory, reads it with getdents64() into its
         * fresh 32 KiB buffer (the block's first page is in already: malloc() wrote its chunk header there),
         * checks that every record is well formed and that the sixteen shared files are listed, and exits.
         */
        void listOne(int id) {
            long n = listNext[id]++;
            SplittableRandom r = new SplittableRandom(seed ^ (id * 0x6c73L) ^ (n << 16));
            String dir = "/d" + r.nextInt(EXPORTED_DIRS);
            File f = local.open(dir);
            try (UserBuffer buf = new UserBuffer(k.mm(), DIRSTREAM + DIR_BUF)) {
                buf.copyToUser(0, new byte[DIRSTREAM], 0, DIRSTREAM);
                Set<String> seen = new HashSet<>();
                for (int got; (got = local.getdents64(f, buf, DIRSTREAM, DIR_BUF)) > 0; ) {
                    for (Dirents.Dirent d : Dirents.parse(buf, DIRSTREAM, got)) {
                        if (!seen.add(d.name())) {
                            throw new AssertionError("getdents64(" + dir + ") listed " + d.name() + " twice");
                        }
                    }
                }
                for (int i = 0; i < FILES_PER_DIR; i++) {
                    if (!seen.contains(sharedName(i))) {
                        throw new AssertionError("getdents64(" + dir + ") did not list " + sharedName(i));
                    }
                }
                listFaults.addAndGet(buf.faults());
            } finally {
                local.close(f);
            }
            listings.incrementAndGet();
            listPause.waitEventInterruptibleTimeout(loop::stopping, LIST_PAUSE_NANOS);
        }

        /** An NFS task looking a name up in an exported directory: a LOOKUP nfsd serves under its i_mutex. */
        void lookupOne(int id) {
            long n = lookNext[id]++;
            SplittableRandom r = new SplittableRandom(seed ^ (id * 31L) ^ (n << 8));
            String path = "/d" + r.nextInt(EXPORTED_DIRS) + "/missing-" + id + "-" + n;
            try {
                nfs.close(nfs.open(path));
            } catch (VfsException e) {
                if (e.errno() != Errno.ENOENT) {
                    throw e;
                }
            }
            lookups.incrementAndGet();
        }

        /**
         * A client process stat()ing an existing file in an exported directory, then pausing: a dcache hit
         * that nfs_lookup_revalidate() checks with a LOOKUP whenever the directory changed since.
         */
        void statOne(int id) {
            long n = statNext[id]++;
            SplittableRandom r = new SplittableRandom(seed ^ (id * 104_729L) ^ (n << 12));
            nfs.stat("/d" + r.nextInt(EXPORTED_DIRS) + "/" + sharedName(r.nextInt(FILES_PER_DIR)));
            stats.incrementAndGet();
            statPause.waitEventInterruptibleTimeout(loop::stopping, STAT_PAUSE_NANOS);
        }

        @Override
        public String progress() {
            NfsServer srv = s.nfs().server();
            return String.format("ops %d nfs written %dM verified %dM, local names %d, lookups %d, stats %d,"
                    + " listings %d (page faults %d);"
                    + " nfsd served %d; WRITEs %d (FILE_SYNC %d), READs %d;"
                    + " unstable %d; release_page %d, commits from reclaim %d"
                    + " (sync %d %s, nfsd in one at once at most %d); allocstall %d;"
                    + " free %d inact %d act %d dirty %d wb %d scan %d/%d steal %d/%d",
                    loop.ops(), written.get() >> 20, verified.get() >> 20, names.get(), lookups.get(), stats.get(),
                    listings.get(), listFaults.get(),
                    s.nfsd().serv().served(), srv.writes(), srv.stableWrites(), srv.reads(),
                    k.mm().vmstat().get(VmStatItem.NR_UNSTABLE_NFS), srv.releasePageCalls(),
                    srv.commitsFromReclaim(), srv.syncCommitsFromReclaim(), srv.syncCommitsByComm(),
                    srv.nfsdInSyncCommitMax(),
                    k.mm().vmstat().get(VmStatItem.ALLOCSTALL_NORMAL), k.mm().vmstat().get(VmStatItem.NR_FREE_PAGES),
                    k.mm().vmstat().get(VmStatItem.NR_INACTIVE_FILE), k.mm().vmstat().get(VmStatItem.NR_ACTIVE_FILE),
                    k.mm().vmstat().get(VmStatItem.NR_DIRTY), k.mm().vmstat().get(VmStatItem.NR_WRITEBACK),
                    k.mm().vmstat().get(VmStatItem.PGSCAN_KSWAPD), k.mm().vmstat().get(VmStatItem.PGSCAN_DIRECT),
                    k.mm().vmstat().get(VmStatItem.PGSTEAL_KSWAPD), k.mm().vmstat().get(VmStatItem.PGSTEAL_DIRECT))
                    + deadlockKind();
        }

        /** "; deadlock: " and {@link #cycleKind} of the watchdog's first proof (kept before its listeners run). */
        private String deadlockKind() {
            for (WatchdogReport r : k.watchdog().reports()) {
                if (r.type() == WatchdogReport.Type.DEADLOCK) {
                    return "; deadlock: " + cycleKind(r);
                }
            }
            return "";
        }

        @Override
        public long workDone() {
            return written.get() + verified.get() + names.get() + lookups.get() + stats.get() + listings.get();
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

    /** An NFS file of the workload: its bytes are a function of its seed and offset. */
    private record NfsFileSpec(String dir, String name, int size, long seed) {
        byte[] chunk(long off, int len) {
            byte[] b = new byte[len];
            new SplittableRandom(seed ^ off).nextBytes(b);
            return b;
        }
    }
}
