package dev.reclaimlab.swap;

import dev.reclaimlab.block.request.BlockDriver22;
import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.locking.WaitQueue;
import dev.reclaimlab.locking.Waitable;
import dev.reclaimlab.locking.WakerSink;
import dev.reclaimlab.mm.PhysMem;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * kswiod: a RECONSTRUCTION of what Stephen Tweedie proposed on linux-mm on 10 January 1999 ("moving the
 * asynchronous page writes out of kswapd/try_to_free_page and into a separate worker thread"); no released
 * kernel had it. Reclaim queues every page write to this one thread, served first in, first out: a shared
 * file page (filemap_write_page(): i_sem, then the filesystem's write) and an anonymous swap-out
 * (brw_page() to the swap area). A swap-out that 2.2's rw_swap_page_base() makes synchronous (more than 32
 * in flight, queued ones included) then waits for its page at kswiod, which is the "synchronous swapout,
 * where we end up blocking waiting for the IO thread" of the seed. Whether the thread ran with PF_MEMALLOC
 * is not known: the one reclaim IO thread Tweedie did write (kpiod, posted 5 February 1999 against 2.2.1)
 * had none, and Andrea Arcangeli added it the next day because kpiod queued requests to itself from its
 * own reclaim. Without {@link #KSWIOD_MEMALLOC} kswiod's allocations reclaim like anybody's, so a
 * swap-out in its own reclaim may wait for its own queue; with it kswiod runs like kswapd.
 */
public final class Kswiod implements Waitable {
    public static final Fix KSWIOD_PAGE_IO = Fix.declare("kswiod_page_io",
            "reclaim's page writes (shared-file and anonymous swap-out) are queued to one kswiod thread, FIFO;"
                    + " a swap-out beyond nr_async_pages 32 waits for its page at kswiod",
            "Stephen Tweedie, linux-mm 10 Jan 1999, 'MM deadlock' (proposal, never merged: a reconstruction)",
            null);
    public static final Fix KSWIOD_MEMALLOC = Fix.declare("kswiod_memalloc",
            "kswiod runs with PF_MEMALLOC, as kswapd does: its allocations never reclaim and may take the free"
                    + " lists down to zero (RECONSTRUCTION)",
            "Andrea Arcangeli, '[patch] kpiod fixes and improvements', linux-mm 6 Feb 1999 (PF_MEMALLOC for"
                    + " Tweedie's kpiod, applied here to the reconstruction)",
            null);

    private record Work(Page22 page, File22 file, long offset, BlockDriver22 dev, int block) {
    }

    private final Mm22 mm;
    private final ConcurrentLinkedQueue<Work> queue = new ConcurrentLinkedQueue<>();
    private final WaitQueue kswiodWait = new WaitQueue("kswiod_wait");
    private final AtomicLong queued = new AtomicLong();
    private final AtomicLong done = new AtomicLong();
    private volatile Task task;

    Kswiod(Mm22 mm) {
        this.mm = mm;
    }

    void start() {
        int flags = mm.kernel().config().has(KSWIOD_MEMALLOC) ? TaskFlags.PF_MEMALLOC : 0;
        task = mm.kernel().kthreadRun("kswiod", flags, this::kswiod);
    }

    public Task task() {
        return task;
    }

    public long queued() {
        return queued.get();
    }

    public long done() {
        return done.get();
    }

    /** Queued page writes not yet done. */
    public int queueLength() {
        return queue.size();
    }

    /** filemap_swapout(): the page is pinned and the file held until kswiod has written it. */
    void queueFilemap(File22 f, long offset, Page22 page) {
        f.fget();
        mm.getPage(page.pfn());
        put(new Work(page, f, offset, null, 0));
    }

    /** rw_swap_page(WRITE): the locked swap-cache page is now owed by kswiod. */
    void queueSwap(Page22 page, BlockDriver22 dev, int block) {
        page.setIo(this);
        page.wakeWaiters();
        put(new Work(page, null, 0, dev, block));
    }

    private void put(Work w) {
        queued.incrementAndGet();
        queue.add(w);
        kswiodWait.wakeUp();
    }

    private void kswiod(Task self) {
        while (!self.kthreadShouldStop()) {
            Work w = queue.poll();
            if (w == null) {
                mm.blk().runTqDisk();
                kswiodWait.waitEventInterruptibleTimeout(() -> !queue.isEmpty() || self.kthreadShouldStop(),
                        TimeUnit.SECONDS.toNanos(1));
                continue;
            }
            if (w.file() != null) {
                writeFilemap(w);
            } else {
                mm.buffers().brwPage(PageIo.WRITE, w.page(), w.dev(), new long[] {w.block()}, PhysMem.PAGE_SIZE, false);
                mm.blk().runTqDisk();
            }
            done.incrementAndGet();
        }
    }

    private void writeFilemap(Work w) {
        File22 f = w.file();
        try {
            f.iSem().down();
            try {
                mm.pageCache().doWritePage(f, w.page().address(), w.offset());
            } finally {
                f.iSem().up();
            }
        } finally {
            f.fput();
            mm.freePage(w.page().pfn());
        }
    }

    @Override
    public String name() {
        return "kswiod queue";
    }

    @Override
    public void wakers(WakerSink out) {
        out.add(task);
    }
}
