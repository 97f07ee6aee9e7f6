package dev.reclaimlab.scenario;

import dev.reclaimlab.fs.ext2.Ext2Exception;
import dev.reclaimlab.fs.ext2.Ext2File;
import dev.reclaimlab.fs.ext2.Ext2Fs;
import dev.reclaimlab.fs.ext2.Ext2Inode;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelPanic;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.swap.Memory22;
import dev.reclaimlab.swap.Mm22;
import dev.reclaimlab.swap.Process22;
import dev.reclaimlab.swap.UserFault;
import dev.reclaimlab.swap.Vma;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The user processes (tooling; the kernel they run on is Linux 2.2.1) of the kswiod-nbd scenario on one
 * {@link Nbd22Host}: writers create, write, read back and unlink files spread over the block groups of the
 * ext2 on nbd0 (so block allocation keeps missing the eight-bitmap LRU and reads bitmaps over nbd under
 * lock_super); mappers map sparse files on that ext2 MAP_SHARED, dirty every page (each over a hole), check
 * them, unmap and read the file back; one process cycles through anonymous memory. Sizes follow the kernel's
 * memory so the working set is larger than it. Every byte written is checked when read back; the watchdog's
 * progress counter is the bytes verified.
 */
final class KswiodNbdWorkload implements Workload {
    /**
     * nbd0: 512 MiB, 64 block groups of 8 MiB, one directory each. The writers' files rotate over the 64
     * groups, so ext2_new_block() keeps missing the eight-bitmap LRU and, with the buffer cache small under
     * pressure, reads the bitmap over nbd while holding lock_super: the "bread() on an ext2 bitmap buffer
     * with the superblock held" of the seed. With 16 groups every bitmap stayed in the buffer cache and such
     * reads were rare.
     */
    static final long NBD_BYTES = 512L << 20;
    static final long SWAP_BYTES = 96L << 20;
    /**
     * A 1999 IDE disk's time per request: a swap page (4 KiB, one request) 1 ms; a 1 KiB buffer of the
     * local disk 50 us, which stands for the request merging 2.2 did and this emulator does not (about
     * 20 MB/s for a stream of buffers). With disks that end IO when it starts, nr_async_pages counted only
     * what kswiod had not yet written, and 2.2's swap_cluster throttle almost never made a swap-out wait.
     */
    static final long SWAP_SERVICE_US = 1_000;
    static final long LOCAL_SERVICE_US = 50;
    static final int WRITERS = 2;
    static final int MAPPERS = 2;
    static final int DIRS = 64;
    static final int FILES_KEPT = 24;
    static final int MIN_FILE = 8 << 10;
    static final int MAX_FILE = 48 << 10;
    /**
     * Percent of memory each mapper's sparse file spans, and the anonymous process uses: together more
     * than memory, so reclaim runs all the time and reaches swap_out().
     */
    static final int MAP_PERCENT = 25;
    static final int ANON_PERCENT = 55;
    /**
     * The user programs' pace (pages between pauses, the pause in microseconds): dirty data comes no faster
     * than nbd0 can take it, so the buffer cache does not fill with it and the cycles are reclaim's.
     */
    static final int MAP_BURST = 4;
    static final int MAP_PAUSE_US = 10_000;
    static final int ANON_BURST = 16;
    static final int ANON_PAUSE_US = 2_000;
    static final int WRITER_PAUSE_US = 20_000;

    private final Nbd22Host host;
    private final Mm22 mm;
    private final Ext2Fs fs;
    private final long seed;
    private final Ext2Inode[] dirs = new Ext2Inode[DIRS];
    private final long mapBytes;
    private final long anonBytes;
    final AtomicLong verified = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    private final AtomicLong filesDone = new AtomicLong();
    private final AtomicLong mapsDone = new AtomicLong();
    private final AtomicLong anonRounds = new AtomicLong();
    private final List<String> errors = new CopyOnWriteArrayList<>();
    /** Processes the kernel killed (SIGBUS, OOM) or refused memory (-ENOMEM), with when: see {@link #errors}. */
    private final List<Object[]> casualties = new CopyOnWriteArrayList<>();
    /** How long a casualty waits before it counts as the run's failure: a deadlock it is a symptom of is proven first. */
    static final long CASUALTY_GRACE_NANOS = 2_000_000_000L;
    private volatile boolean stopping;

    private KswiodNbdWorkload(Nbd22Host host, long seed) {
        this.host = host;
        this.mm = host.mm();
        this.fs = host.fs();
        this.seed = seed;
        long mem = mm.pageAlloc().managedPages() * PhysMem.PAGE_SIZE;
        this.mapBytes = (mem * MAP_PERCENT / 100) & ~(long) (PhysMem.PAGE_SIZE - 1);
        this.anonBytes = (mem * ANON_PERCENT / 100) & ~(long) (PhysMem.PAGE_SIZE - 1);
    }

    static KswiodNbdWorkload start(Kernel k, long seed) {
        Nbd22Host host = Nbd22Host.build(k, NBD_BYTES, SWAP_BYTES, SWAP_SERVICE_US, LOCAL_SERVICE_US);
        KswiodNbdWorkload w = new KswiodNbdWorkload(host, seed);
        for (int d = 0; d < DIRS; d++) {
            w.dirs[d] = w.fs.mkdir(null, "d" + d);
        }
        for (int i = 0; i < WRITERS; i++) {
            int id = i;
            k.kthreadRun("writer" + i, 0, self -> w.run(self, () -> w.writer(self, id)));
        }
        for (int i = 0; i < MAPPERS; i++) {
            int id = i;
            k.kthreadRun("mapper" + i, 0, self -> w.run(self, () -> w.mapper(self, id)));
        }
        k.kthreadRun("anon", 0, self -> w.run(self, () -> w.anon(self)));
        k.watchdog().registerProgress("kswiod-nbd bytes verified", w.verified::get);
        return w;
    }

    Nbd22Host host() {
        return host;
    }

    /** nanosleep(): a user program's pause, idle (TASK_INTERRUPTIBLE) until the time is up or it is stopped. */
    private void pause(Task self, dev.reclaimlab.locking.WaitQueue q, long micros) {
        if (micros > 0) {
            q.waitEventInterruptibleTimeout(() -> stopping || self.kthreadShouldStop(), micros * 1000);
        }
    }

    private boolean go(Task self) {
        return !stopping && !self.kthreadShouldStop() && errors.isEmpty();
    }

    /** The kernel refused this process memory: -ENOMEM from a system call. */
    static final class NoMemory extends RuntimeException {
        NoMemory(String what) {
            super(what);
        }
    }

    private void run(Task self, Runnable body) {
        try {
            body.run();
        } catch (KernelPanic p) {
            throw p;
        } catch (UserFault f) {
            casualty(self, f.getMessage());
        } catch (NoMemory e) {
            casualty(self, e.getMessage());
        } catch (RuntimeException | AssertionError e) {
            fail(self, e.toString());
        }
    }

    private void casualty(Task self, String what) {
        if (stopping || self.kthreadShouldStop() || mm.kernel().panicked()) {
            return;
        }
        casualties.add(new Object[] {System.nanoTime(), self + ": " + what});
    }

    /** Records a failure with the kernel log's last lines, which say what the kernel saw. */
    private void fail(Task self, String what) {
        if (stopping || self.kthreadShouldStop() || mm.kernel().panicked()) {
            return;
        }
        String[] log = mm.kernel().dmesg().split("\n");
        StringBuilder tail = new StringBuilder();
        for (int i = Math.max(0, log.length - 3); i < log.length; i++) {
            tail.append(" | ").append(log[i].trim());
        }
        errors.add(self + ": " + what + tail);
    }

    private static byte[] content(long seed, int size) {
        byte[] b = new byte[size];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    private void check(long r, long want, String what) {
        if (r == -dev.reclaimlab.kernel.Errno.ENOMEM) {
            throw new NoMemory(what + " returned -ENOMEM");
        }
        if (r != want) {
            throw new IllegalStateException(what + " returned " + r + ", not " + want);
        }
    }

    /** read() until {@code size} bytes are in or it fails, as a careful program reads. */
    private static long readFully(Ext2File f, byte[] buf, int size) {
        long done = 0;
        while (done < size) {
            long n = f.read(buf, (int) done, (int) (size - done), done);
            if (n <= 0) {
                return n < 0 ? n : done;
            }
            done += n;
        }
        return done;
    }

    /** A writer: files of random size in rotating directories, each read back later, the oldest unlinked. */
    private void writer(Task self, int id) {
        ArrayDeque<Object[]> kept = new ArrayDeque<>();
        byte[] buf = new byte[MAX_FILE];
        dev.reclaimlab.locking.WaitQueue nap = new dev.reclaimlab.locking.WaitQueue("nanosleep");
        for (long n = 0; go(self); n++) {
            SplittableRandom r = new SplittableRandom(seed * 31 + id * 1_000_003L + n);
            int size = r.nextInt(MIN_FILE, MAX_FILE);
            long fseed = r.nextLong();
            Ext2Inode dir = dirs[(int) ((id * 7 + n) % DIRS)];
            String name = "w" + id + "-" + n;
            byte[] data = content(fseed, size);
            Ext2File f = fs.create(dir, name);
            try {
                for (int off = 0; off < size; off += 4096) {
                    int len = Math.min(4096, size - off);
                    check(f.write(data, off, len, off), len, "write " + name);
                    written.addAndGet(len);
                }
            } finally {
                f.close();
            }
            kept.addLast(new Object[] {dir, name, size, fseed});
            if (kept.size() > 1) {
                Object[] old = kept.peekFirst();
                verifyFile((Ext2Inode) old[0], (String) old[1], (int) old[2], (long) old[3], buf);
            }
            if (kept.size() > FILES_KEPT) {
                Object[] gone = kept.pollFirst();
                fs.unlink((Ext2Inode) gone[0], (String) gone[1]);
            }
            filesDone.incrementAndGet();
            pause(self, nap, WRITER_PAUSE_US);
        }
    }

    private void verifyFile(Ext2Inode dir, String name, int size, long fseed, byte[] buf) {
        Ext2File f = fs.open(dir, name);
        try {
            check(readFully(f, buf, size), size, "read " + name);
            byte[] want = content(fseed, size);
            if (!Arrays.equals(buf, 0, size, want, 0, size)) {
                throw new IllegalStateException("data mismatch in " + name);
            }
            verified.addAndGet(size);
        } finally {
            f.close();
        }
    }

    /**
     * A mapper: a sparse file as large as {@link #MAP_PERCENT} of memory mapped MAP_SHARED; it writes the
     * pages in order, each over a hole, and checks every page again half a file later (by then most were
     * written out by reclaim and come back from the page cache or from nbd); then munmap() writes the
     * rest, and the file is unlinked.
     */
    private void mapper(Task self, int id) {
        Memory22 memory = mm.memory();
        Process22 p = Process22.attach(mm, self);
        Ext2Inode dir = dirs[(DIRS / 2 + id * 5) % DIRS];
        int pages = (int) (mapBytes / PhysMem.PAGE_SIZE);
        int window = Math.max(1, pages / 2);
        byte[] page = new byte[PhysMem.PAGE_SIZE];
        byte[] got = new byte[PhysMem.PAGE_SIZE];
        byte[] base = new byte[PhysMem.PAGE_SIZE];
        long[] baseSeed = new long[2];
        dev.reclaimlab.locking.WaitQueue nap = new dev.reclaimlab.locking.WaitQueue("nanosleep");
        for (long n = 0; go(self); n++) {
            String name = "m" + id + "-" + n;
            long fseed = seed * 131 + id * 7_000_003L + n;
            Ext2File f = fs.create(dir, name);
            Vma v;
            try {
                check(f.ftruncate(mapBytes), 0, "ftruncate " + name);
                v = memory.mmap(p, mapBytes, f, 0, true);
            } finally {
                f.close();
            }
            for (int i = 0; i < pages + window && go(self); i++) {
                if (i < pages) {
                    fillPage(page, fseed, i, baseSeed, base);
                    memory.writeUser(p, v.start() + (long) i * PhysMem.PAGE_SIZE, page, 0, page.length);
                    written.addAndGet(page.length);
                }
                int old = i - window;
                if (old >= 0) {
                    fillPage(page, fseed, old, baseSeed, base);
                    memory.readUser(p, v.start() + (long) old * PhysMem.PAGE_SIZE, got, 0, got.length);
                    if (!Arrays.equals(page, got)) {
                        throw new IllegalStateException("mapped data mismatch in " + name + " page " + old);
                    }
                    verified.addAndGet(got.length);
                }
                if (i % MAP_BURST == MAP_BURST - 1) {
                    pause(self, nap, MAP_PAUSE_US);
                }
            }
            if (!go(self)) {
                return;
            }
            memory.munmap(p, v);
            fs.unlink(dir, name);
            mapsDone.incrementAndGet();
        }
    }

    /**
     * Page {@code i} of a file or round: a random page per {@code fseed} (made once and kept in
     * {@code base}) with the page's index and the seed in its first 16 bytes, so a page that comes back in
     * the wrong place or from the wrong round does not match.
     */
    private static void fillPage(byte[] page, long fseed, int i, long[] baseSeed, byte[] base) {
        if (baseSeed[0] != fseed || baseSeed[1] == 0) {
            new SplittableRandom(fseed).nextBytes(base);
            baseSeed[0] = fseed;
            baseSeed[1] = 1;
        }
        System.arraycopy(base, 0, page, 0, page.length);
        long a = i;
        long b = fseed;
        for (int k = 0; k < 8; k++) {
            page[k] = (byte) (a >>> (8 * k));
            page[8 + k] = (byte) (b >>> (8 * k));
        }
    }

    /** Anonymous memory larger than what is left: every round writes each page and checks the last round's. */
    private void anon(Task self) {
        Memory22 memory = mm.memory();
        Process22 p = Process22.attach(mm, self);
        Vma v = memory.mmap(p, anonBytes, null, 0, false);
        int pages = (int) (anonBytes / PhysMem.PAGE_SIZE);
        byte[] page = new byte[PhysMem.PAGE_SIZE];
        byte[] got = new byte[PhysMem.PAGE_SIZE];
        byte[] prevBase = new byte[PhysMem.PAGE_SIZE];
        byte[] base = new byte[PhysMem.PAGE_SIZE];
        long[] prevSeed = new long[2];
        long[] baseSeed = new long[2];
        dev.reclaimlab.locking.WaitQueue nap = new dev.reclaimlab.locking.WaitQueue("nanosleep");
        for (long round = 0; go(self); round++) {
            for (int i = 0; i < pages && go(self); i++) {
                long addr = v.start() + (long) i * PhysMem.PAGE_SIZE;
                if (round > 0) {
                    fillPage(page, (seed << 20) + round - 1, i, prevSeed, prevBase);
                    memory.readUser(p, addr, got, 0, got.length);
                    if (!Arrays.equals(page, got)) {
                        throw new IllegalStateException("anonymous data mismatch at page " + i + " round " + round);
                    }
                    verified.addAndGet(got.length);
                }
                fillPage(page, (seed << 20) + round, i, baseSeed, base);
                memory.writeUser(p, addr, page, 0, page.length);
                if (i % ANON_BURST == ANON_BURST - 1) {
                    pause(self, nap, ANON_PAUSE_US);
                }
            }
            anonRounds.incrementAndGet();
        }
    }

    @Override
    public long workDone() {
        // Real work only: bytes written through ext2 and the mappings, and bytes read back and verified.
        return written.get() + verified.get();
    }

    @Override
    public String progress() {
        return String.format("verified %dM written %dM files %d maps %d anon-rounds %d killed %d; nbd in %d out %d"
                        + " in-flight %d served %d; lock_super waits %d bitmap reads %d (device %d) inode bitmap"
                        + " reads %d (device %d) map reads %d (device %d); %s",
                verified.get() >> 20, written.get() >> 20, filesDone.get(), mapsDone.get(), anonRounds.get(),
                casualties.size(),
                host.nbd().requestsIn(), host.nbd().requestsOut(), host.nbd().inFlight(), host.server().served(),
                fs.sLock().contended(), fs.bitmapReads(), fs.bitmapIos(), fs.inodeBitmapReads(), fs.inodeBitmapIos(),
                fs.mapReads(), fs.mapIos(), mm.stats());
    }

    @Override
    public List<String> errors() {
        List<String> all = new ArrayList<>(errors);
        long now = System.nanoTime();
        for (Object[] c : casualties) {
            if (now - (long) c[0] > CASUALTY_GRACE_NANOS) {
                all.add((String) c[1]);
            }
        }
        if (host.server().exitReason() != null && !stopping && !host.server().exitedByPanic()) {
            all.add("nbd-server exited: " + host.server().exitReason());
        }
        return all;
    }

    @Override
    public void stop() {
        stopping = true;
    }
}
