package dev.reclaimlab.testkit;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.KmemCache;
import dev.reclaimlab.mm.Mm;
import dev.reclaimlab.mm.PageAlloc;

/** The moments of memory pressure a test plants on purpose, instead of waiting for a workload to reach them. */
public final class MemoryPressure {
    private MemoryPressure() {
    }

    /**
     * Free memory at the min watermark: every page a GFP_NOWAIT allocation can still take is taken, and stays
     * allocated until the kernel is closed.
     */
    public static void atMin(Kernel k) {
        while (k.mm().allocPages(Gfp.GFP_NOWAIT, 0) != PageAlloc.NULL_PAGE) {
            continue;
        }
    }

    /**
     * Free memory at the min watermark (every page a GFP_NOWAIT allocation can still take is taken) and no free
     * object of {@code cache} on any CPU, so the next allocation from the cache grows its slab through direct
     * reclaim. What it takes stays allocated until the kernel is closed.
     */
    public static void atMinWithNoFreeObject(Kernel k, KmemCache cache) {
        Mm mm = k.mm();
        atMin(k);
        for (int c = 0; c < k.nrCpus(); c++) {
            k.currentTask().runOnCpu(c, () -> {
                while (mm.kmemCacheAlloc(cache, Gfp.GFP_NOWAIT) != 0) {
                    continue;
                }
            });
        }
    }
}
