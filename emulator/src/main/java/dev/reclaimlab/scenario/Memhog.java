package dev.reclaimlab.scenario;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.WaitQueue;
import dev.reclaimlab.mm.Gfp;

import java.util.ArrayDeque;

/**
 * memhog (tooling, no kernel code: another program's memory, as a loaded machine has): it takes its share of
 * memory in GFP_HIGHUSER_MOVABLE pages and then churns it, giving back and taking again a slice every pause,
 * as a program that keeps allocating and freeing buffers does. It holds no lock: it only keeps free memory at
 * the watermarks, so every allocation there reclaims and reclaim reaches deep into the page cache. Without
 * swap its pages are never reclaimed, so its share is memory the page cache cannot have.
 *
 * @param sharePercent the share of managed pages it holds
 * @param churnPercent the slice of managed pages it gives back and takes again every pause
 * @param pauseNanos   the pause between churns
 */
record Memhog(int sharePercent, int churnPercent, long pauseNanos) {

    Memhog {
        if (sharePercent <= 0 || sharePercent >= 100 || churnPercent < 0 || churnPercent > sharePercent
                || pauseNanos <= 0) {
            throw new IllegalArgumentException("memhog: share " + sharePercent + " %, churn " + churnPercent
                    + " %, pause " + pauseNanos + " ns: want 0 <= churn <= share < 100 and a positive pause");
        }
    }

    /** The task's body: runs until the workload stops or the task is asked to; gives its pages back unless panicked. */
    void run(Task self, Kernel k, WorkloadLoop loop) {
        WaitQueue pause = new WaitQueue("memhog pause");
        long managed = k.mm().pageAlloc().managedPages();
        long target = managed * sharePercent / 100;
        long churn = managed * churnPercent / 100;
        ArrayDeque<Integer> pages = new ArrayDeque<>();
        try {
            while (!loop.stopping() && !self.kthreadShouldStop()) {
                for (long i = 0; i < churn && pages.size() > target - churn; i++) {
                    k.mm().freePages(pages.poll(), 0);
                }
                while (pages.size() < target && !loop.stopping() && !self.kthreadShouldStop()) {
                    int p = k.mm().allocPages(Gfp.GFP_HIGHUSER_MOVABLE, 0);
                    if (p < 0) {
                        break;
                    }
                    pages.add(p);
                }
                pause.waitEventInterruptibleTimeout(() -> loop.stopping() || self.kthreadShouldStop(), pauseNanos);
            }
        } finally {
            if (!k.panicked()) {
                for (int p : pages) {
                    k.mm().freePages(p, 0);
                }
            }
        }
    }
}
