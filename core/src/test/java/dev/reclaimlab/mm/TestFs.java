package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.locking.Completion;
import dev.reclaimlab.locking.WaitQueue;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An instrumented filesystem for reclaim tests. A page's content is a pure function of the 8-byte seed at
 * its start (an xorshift stream after it), so the "disk" keeps one long per page while every byte written
 * is still verified: writepage checks the whole page against its seed, readpage regenerates it. Writes
 * complete asynchronously on a "kworker/io" kthread, which owes the writeback of every page it holds;
 * {@link #ioGate} can hold completions back. Every callback records the gfp and the task it ran in.
 */
final class TestFs implements AddressSpaceOperations {
    final Kernel kernel;
    final Mm mm;
    final Filemap fm;
    private final Map<Long, Long> disk = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Integer> ioQueue = new ConcurrentLinkedQueue<>();
    private final WaitQueue ioWait = new WaitQueue("testfs io");
    private volatile Completion ioGate;
    final Task ioTask;
    final ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
    final AtomicLong writepages = new AtomicLong();
    final AtomicLong writepagesInDirectReclaim = new AtomicLong();
    final AtomicLong writepagesByKswapd = new AtomicLong();
    final ConcurrentLinkedQueue<int[]> releasepageCalls = new ConcurrentLinkedQueue<>();
    /** Makes new pages carry private data, so reclaim must call releasepage(). */
    volatile boolean privatePages;

    TestFs(Kernel kernel) {
        this.kernel = kernel;
        this.mm = kernel.mm();
        this.fm = mm.filemap();
        this.ioTask = kernel.kthreadRun("kworker/io", this::ioWorker);
    }

    static long key(AddressSpace m, long index) {
        return ((long) m.host().hashCode() << 32) ^ index;
    }

    /** Fills the page at {@code va} with the stream of {@code seed}. */
    static void fill(PhysMem mem, long va, long seed) {
        mem.putLong(va, seed);
        long x = seed | 1;
        for (int off = 8; off < PhysMem.PAGE_SIZE; off += 8) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            mem.putLong(va + off, x);
        }
    }

    /** The seed the page at {@code va} carries, or throws if any byte disagrees with it. */
    static long verify(PhysMem mem, long va, String what) {
        long seed = mem.getLong(va);
        long x = seed | 1;
        for (int off = 8; off < PhysMem.PAGE_SIZE; off += 8) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            long got = mem.getLong(va + off);
            if (got != x) {
                throw new AssertionError(String.format("%s: byte %d is %x, seed %x says %x", what, off, got, seed, x));
            }
        }
        return seed;
    }

    /** generic_perform_write() of one page with content {@code seed}. Returns 0 or a negative errno. */
    int writePage(AddressSpace m, long index, long seed) {
        int pfn = fm.grabCachePageWriteBegin(m, index);
        if (pfn < 0) {
            return pfn;
        }
        fill(mm.mem(), mm.pageAddress(pfn), seed);
        fm.setPageUptodate(pfn);
        if (privatePages) {
            fm.setPagePrivate(pfn);
        }
        fm.setPageDirty(pfn);
        fm.unlockPage(pfn);
        fm.putPage(pfn);
        mm.writeback().balanceDirtyPagesRatelimited(m);
        return 0;
    }

    /** A read of one page through the cache; returns the seed it carries, or a negative errno. */
    long readPage(AddressSpace m, long index, int gfp) {
        int pfn = fm.readCachePage(m, index, gfp);
        if (pfn < 0) {
            return pfn;
        }
        try {
            return verify(mm.mem(), mm.pageAddress(pfn), m + " page " + index);
        } finally {
            fm.putPage(pfn);
        }
    }

    @Override
    public int readpage(AddressSpace mapping, int page) {
        Long seed = disk.get(key(mapping, fm.pageIndex(page)));
        fill(mm.mem(), mm.pageAddress(page), seed == null ? 0 : seed);
        fm.setPageUptodate(page);
        if (privatePages) {
            fm.setPagePrivate(page);
        }
        fm.unlockPage(page);
        return 0;
    }

    @Override
    public int writepage(AddressSpace mapping, int page, WritebackControl wbc) {
        Task t = Task.current();
        writepages.incrementAndGet();
        if ((t.flags() & TaskFlags.PF_KSWAPD) != 0) {
            writepagesByKswapd.incrementAndGet();
        } else if ((t.flags() & TaskFlags.PF_MEMALLOC) != 0) {
            writepagesInDirectReclaim.incrementAndGet();
        }
        fm.setPageWriteback(page, ioTask);
        fm.unlockPage(page);
        ioQueue.add(page);
        ioWait.wakeUp();
        return 0;
    }

    @Override
    public boolean releasepage(AddressSpace mapping, int page, int gfp) {
        releasepageCalls.add(new int[] {gfp, Task.current().pid()});
        return true;
    }

    /** Holds every IO completion until the returned completion is completed. */
    Completion closeIoGate() {
        Completion gate = new Completion("testfs io gate");
        ioGate = gate;
        return gate;
    }

    void openIoGate(Completion gate) {
        ioGate = null;
        gate.completeAll();
        ioWait.wakeUp();
    }

    private void ioWorker(Task self) {
        while (!self.kthreadShouldStop()) {
            ioWait.waitEventInterruptibleTimeout(() -> !ioQueue.isEmpty() || self.kthreadShouldStop(), -1);
            Completion gate = ioGate;
            if (gate != null) {
                gate.waitForCompletion();
            }
            for (Integer page; (page = ioQueue.poll()) != null; ) {
                AddressSpace m = fm.pageMapping(page);
                try {
                    long seed = verify(mm.mem(), mm.pageAddress(page), "writeback of pfn " + page);
                    if (m != null) {
                        disk.put(key(m, fm.pageIndex(page)), seed);
                    }
                } catch (AssertionError e) {
                    errors.add(e.getMessage());
                }
                fm.endPageWriteback(page);
            }
        }
    }
}
