package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.locking.WaitQueue;
import dev.reclaimlab.trace.ReclaimEvent;

import java.util.concurrent.atomic.AtomicLong;

import static dev.reclaimlab.mm.ScanControl.DEF_PRIORITY;
import static dev.reclaimlab.mm.ScanControl.SWAP_CLUSTER_MAX;

/**
 * kswapd0 (mm/vmscan.c kswapd(), balance_pgdat()): woken when free memory falls below the low
 * watermark, it reclaims with GFP_KERNEL under PF_KSWAPD | PF_MEMALLOC until free memory is above the high
 * watermark, writing dirty pages and waiting for writeback as only kswapd may, then sleeps. After
 * MAX_RECLAIM_RETRIES passes without progress it stops answering wake-ups until direct reclaim frees
 * something (kswapd_failures), so unreclaimable memory does not keep it spinning.
 */
final class Kswapd {
    private final Kernel kernel;
    private final Mm mm;
    private final PageAlloc pages;
    private final Vmscan vmscan;
    private final WaitQueue kswapdWait = new WaitQueue("pgdat->kswapd_wait");
    private volatile boolean pending;
    private volatile int kswapdFailures;
    private final AtomicLong wakeups = new AtomicLong();
    private Task task;

    Kswapd(Kernel kernel, Mm mm, PageAlloc pages, Vmscan vmscan) {
        this.kernel = kernel;
        this.mm = mm;
        this.pages = pages;
        this.vmscan = vmscan;
    }

    void start() {
        task = kernel.kthreadRun("kswapd0", TaskFlags.PF_KSWAPD | TaskFlags.PF_MEMALLOC, this::kswapd);
    }

    Task task() {
        return task;
    }

    long wakeups() {
        return wakeups.get();
    }

    private boolean balanced() {
        return pages.nrFreePages() >= pages.highWmark();
    }

    /** wakeup_kswapd(): from the allocator's slow path; never sleeps. */
    void wakeupKswapd(int order, int gfp) {
        if (kswapdFailures >= PageAlloc.MAX_RECLAIM_RETRIES || balanced()) {
            return;
        }
        if (!pending) {
            pending = true;
            wakeups.incrementAndGet();
        }
        kswapdWait.wakeUp();
    }

    /** Direct reclaim made progress: the node is not hopeless after all. */
    void resetFailures() {
        if (kswapdFailures != 0) {
            kswapdFailures = 0;
        }
    }

    private void kswapd(Task self) {
        while (!self.kthreadShouldStop()) {
            kswapdWait.waitEventInterruptibleTimeout(() -> pending || self.kthreadShouldStop(), -1);
            if (self.kthreadShouldStop()) {
                return;
            }
            pending = false;
            balancePgdat(self);
        }
    }

    /** balance_pgdat(): reclaim at falling priority until the node is balanced. */
    private void balancePgdat(Task self) {
        mm.countEvent(VmStatItem.PAGEOUTRUN, 1);
        kernel.lockdep().kswapdReclaimEnter(self);
        long reclaimed = 0;
        ReclaimEvent ev = new ReclaimEvent();
        ev.begin();
        try {
            for (int priority = DEF_PRIORITY; priority >= 0 && !balanced(); priority--) {
                long want = Math.max(pages.highWmark() - pages.nrFreePages(), SWAP_CLUSTER_MAX);
                ScanControl sc = new ScanControl(Gfp.GFP_KERNEL, 0, want, true, true);
                sc.priority = priority;
                vmscan.shrinkNode(sc);
                reclaimed += sc.nrReclaimed + (sc.slabFreed > 0 ? 1 : 0);
                if (self.kthreadShouldStop()) {
                    return;
                }
            }
        } finally {
            kernel.lockdep().kswapdReclaimExit(self);
            ev.end();
            if (ev.shouldCommit()) {
                ev.commit(self.toString(), "kswapd", Gfp.formatMode(Gfp.GFP_KERNEL), 0, reclaimed);
            }
        }
        if (balanced()) {
            vmscan.clearBalancedZoneFlags();
        }
        if (reclaimed == 0 && !balanced()) {
            kswapdFailures++;
        } else {
            kswapdFailures = 0;
        }
    }
}
