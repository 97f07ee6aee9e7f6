package dev.reclaimlab.mm;

/**
 * Where the page allocator hands over to reclaim (mm/vmscan.c). The reclaim subsystem installs its
 * kswapd and direct reclaim here; until it does, nothing can be reclaimed and an allocation below the
 * min watermark fails.
 */
public interface ReclaimHooks {
    /** wakeup_kswapd(): free pages fell below the low watermark. Must not sleep. */
    void wakeupKswapd(int order, int gfp);

    /**
     * try_to_free_pages(): direct reclaim by the allocating task, which already runs with PF_MEMALLOC.
     * Returns the number of pages reclaimed (progress); may sleep.
     */
    long tryToFreePages(int gfp, int order);

    /** out_of_memory(): reclaim gave up on an allocation the kernel would OOM-kill for. Must not fail. */
    default void outOfMemory(dev.reclaimlab.kernel.Task t, int gfp, int order) {
    }

    /**
     * out_of_memory() of a kernel that retries after the kill (4.3): the report, rate-limited, since the
     * emulator has no victim whose exit would end the loop. Must not fail.
     */
    default void outOfMemoryRetry(dev.reclaimlab.kernel.Task t, int gfp, int order) {
    }

    /**
     * The nap before the allocator retries ("wait for some write requests to complete then retry"):
     * 3.14's wait_iff_congested(preferred_zone, BLK_RW_ASYNC, HZ/50). May sleep.
     */
    default void allocRetryWait(int gfp, int order) {
    }

    ReclaimHooks NONE = new ReclaimHooks() {
        @Override
        public void wakeupKswapd(int order, int gfp) {
        }

        @Override
        public long tryToFreePages(int gfp, int order) {
            return 0;
        }
    };
}
