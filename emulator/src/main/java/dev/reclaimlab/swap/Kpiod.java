package dev.reclaimlab.swap;

import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Throttle;
import dev.reclaimlab.locking.WaitQueue;
import dev.reclaimlab.mm.Gfp22;
import dev.reclaimlab.mm.KmemCache;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * kpiod as Stephen Tweedie posted it against 2.2.1 ("Fix for VM deadlock in 2.2.1", 5 February 1999) and
 * as it shipped in 2.2.2-pre2: filemap_swapout() only queues a pio_request (the page pinned, the file held)
 * and returns, so reclaim never waits for a shared-file write; kpiod writes each page under i_sem.
 * make_pio_request() allocates the request with GFP_BUFFER and, when that fails, reclaims without IO or
 * sleeps a tenth of a second: "it is safe to wait for availability of another free page". As posted, kpiod
 * has no PF_MEMALLOC and no queue limit (Andrea Arcangeli's follow-up added both; whether 2.2.2 final has
 * them is not known). Anonymous swap-out is unchanged: rw_swap_page() in the caller, to the local swap area.
 */
public final class Kpiod {
    public static final Fix KPIOD = Fix.declare("kpiod",
            "filemap_swapout() queues the page to kpiod and never waits for it; kpiod writes it under i_sem",
            "kpiod, 2.2.2-pre2 (sct, 'Fix for VM deadlock in 2.2.1', linux-kernel 5 Feb 1999)",
            new KernelVersion(2, 2, 2));

    private record PioRequest(File22 file, long offset, Page22 page, long obj) {
    }

    private final Mm22 mm;
    private final KmemCache pioRequestCache;
    private final ConcurrentLinkedQueue<PioRequest> pio = new ConcurrentLinkedQueue<>();
    private final WaitQueue pioWait = new WaitQueue("pio_wait");
    private final Throttle noRequestMemory = new Throttle("make_pio_request");
    private final AtomicInteger nrPioRequest = new AtomicInteger();
    private volatile int maxPioRequest;
    private final AtomicLong queued = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    private volatile Task task;

    Kpiod(Mm22 mm) {
        this.mm = mm;
        this.pioRequestCache = mm.kernel().mm().kmemCacheCreate("pio_request", 32, 0, 0);
    }

    void start() {
        task = mm.kernel().kthreadRun("kpiod", 0, this::kpiod);
    }

    public Task task() {
        return task;
    }

    /** nr_pio_request ("%d request in kpiod queue"). */
    public int nrPioRequest() {
        return nrPioRequest.get();
    }

    public int maxPioRequest() {
        return maxPioRequest;
    }

    public long queued() {
        return queued.get();
    }

    public long written() {
        return written.get();
    }

    /** make_pio_request(): pins the page, holds the file, and never waits for the write. */
    void makePioRequest(File22 f, long offset, Page22 page) {
        f.fget();
        mm.getPage(page.pfn());
        long obj;
        while ((obj = mm.kernel().mm().kmemCacheAlloc(pioRequestCache, Gfp22.GFP_BUFFER)) == 0) {
            if (mm.vmscan().tryToFreePages(Gfp22.__GFP_WAIT) != 0) {
                continue;
            }
            // current->state = TASK_INTERRUPTIBLE; schedule_timeout(HZ/10): waits for a page, not for an IO.
            noRequestMemory.throttle(TimeUnit.MILLISECONDS.toNanos(100));
        }
        pio.add(new PioRequest(f, offset, page, obj));
        int n = nrPioRequest.incrementAndGet();
        if (n > maxPioRequest) {
            maxPioRequest = n;
        }
        queued.incrementAndGet();
        pioWait.wakeUp();
    }

    private void kpiod(Task self) {
        while (!self.kthreadShouldStop()) {
            PioRequest p = pio.poll();
            if (p == null) {
                pioWait.waitEventInterruptibleTimeout(() -> !pio.isEmpty() || self.kthreadShouldStop(),
                        TimeUnit.SECONDS.toNanos(1));
                continue;
            }
            nrPioRequest.decrementAndGet();
            File22 f = p.file();
            try {
                f.iSem().down();
                try {
                    mm.pageCache().doWritePage(f, p.page().address(), p.offset());
                } finally {
                    f.iSem().up();
                }
            } finally {
                f.fput();
                mm.freePage(p.page().pfn());
                mm.kernel().mm().kmemCacheFree(pioRequestCache, p.obj());
            }
            written.incrementAndGet();
        }
    }
}
