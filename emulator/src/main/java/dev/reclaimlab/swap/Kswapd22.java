package dev.reclaimlab.swap;

import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.locking.WaitQueue;
import dev.reclaimlab.mm.Gfp22;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * kswapd as in Linux 2.2.1 (mm/vmscan.c): PF_MEMALLOC for good, woken by every try_to_free_pages() and
 * once a second (schedule_timeout(HZ)), it runs do_try_to_free_pages(GFP_KSWAPD) until free memory is at
 * freepages.high, a pass frees nothing, or its time slice is over (need_resched, here 20 ms), then runs
 * tq_disk. GFP_KSWAPD has __GFP_IO, so in 2.2.1 kswapd itself writes shared-file pages.
 */
final class Kswapd22 {
    private static final long TIMESLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private final Mm22 mm;
    private final WaitQueue kswapdWait = new WaitQueue("kswapd_wait");
    private volatile boolean woken;
    private volatile Task task;
    private final AtomicLong wakeups = new AtomicLong();

    Kswapd22(Mm22 mm) {
        this.mm = mm;
    }

    void start() {
        task = mm.kernel().kthreadRun("kswapd", TaskFlags.PF_MEMALLOC, this::kswapd);
    }

    Task task() {
        return task;
    }

    long wakeups() {
        return wakeups.get();
    }

    /** wake_up_process(kswapd_process). */
    void wakeUp() {
        if (!woken) {
            woken = true;
            wakeups.incrementAndGet();
            kswapdWait.wakeUp();
        }
    }

    private void kswapd(Task self) {
        while (!self.kthreadShouldStop()) {
            long start = System.nanoTime();
            do {
                if (mm.pageAlloc().nrFreePages() >= mm.pageAlloc().freepagesHigh()) {
                    break;
                }
                if (!mm.vmscan().doTryToFreePages(Gfp22.GFP_KSWAPD)) {
                    break;
                }
            } while (System.nanoTime() - start < TIMESLICE_NANOS && !self.kthreadShouldStop());
            mm.blk().runTqDisk();
            woken = false;
            kswapdWait.waitEventInterruptibleTimeout(() -> woken || self.kthreadShouldStop(), TimeUnit.SECONDS.toNanos(1));
        }
    }
}
