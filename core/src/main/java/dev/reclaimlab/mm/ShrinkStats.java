package dev.reclaimlab.mm;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * What shrink_inactive_list()'s batches met, kept apart for kswapd and direct reclaim (Linux 3.14's
 * shrink_page_list() counts, summed; the kernel keeps them per batch only, and traces them in
 * mm_vmscan_lru_shrink_inactive). It says why ZONE_CONGESTED is or is not set: a batch sets it only if it met a
 * dirty or writeback page and exactly as many pages on a write-congested bdi. Tooling, not a kernel structure.
 */
public final class ShrinkStats {
    /** Counter indices. */
    public static final int BATCHES = 0;
    public static final int TAKEN = 1;
    public static final int RECLAIMED = 2;
    /** Pages dirty or under writeback (nr_dirty, after the filesystem's is_dirty_writeback()). */
    public static final int DIRTY = 3;
    public static final int UNQUEUED_DIRTY = 4;
    public static final int CONGESTED = 5;
    public static final int WRITEBACK = 6;
    /** Batches that met at least one dirty or writeback page. */
    public static final int BATCHES_DIRTY = 7;
    /** Batches whose dirty pages were all congested: they set ZONE_CONGESTED. */
    public static final int BATCHES_CONGESTED = 8;
    private static final int N = 9;
    private static final String[] NAMES = {"batches", "taken", "reclaimed", "dirty", "unqueued_dirty", "congested",
        "writeback", "batches_dirty", "batches_congested"};

    private final AtomicLongArray kswapd = new AtomicLongArray(N);
    private final AtomicLongArray direct = new AtomicLongArray(N);

    ShrinkStats() {
    }

    /** One batch of {@code taken} pages; {@code congested}: it set ZONE_CONGESTED (Vmscan decides). */
    void addBatch(ScanControl sc, int taken, long reclaimed, boolean congested) {
        AtomicLongArray a = sc.kswapd ? kswapd : direct;
        a.incrementAndGet(BATCHES);
        a.addAndGet(TAKEN, taken);
        a.addAndGet(RECLAIMED, reclaimed);
        a.addAndGet(DIRTY, sc.batchDirty);
        a.addAndGet(UNQUEUED_DIRTY, sc.batchUnqueuedDirty);
        a.addAndGet(CONGESTED, sc.batchCongested);
        a.addAndGet(WRITEBACK, sc.batchWriteback);
        if (sc.batchDirty > 0) {
            a.incrementAndGet(BATCHES_DIRTY);
        }
        if (congested) {
            a.incrementAndGet(BATCHES_CONGESTED);
        }
    }

    /** Counter {@code item} (one of the constants above) of kswapd's batches or of direct reclaim's. */
    public long get(boolean ofKswapd, int item) {
        if (item < 0 || item >= N) {
            throw new IllegalArgumentException("shrink stat " + item + " is not one of 0.." + (N - 1));
        }
        return (ofKswapd ? kswapd : direct).get(item);
    }

    private static String format(AtomicLongArray a) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < N; i++) {
            sb.append(i == 0 ? "" : " ").append(NAMES[i]).append(' ').append(a.get(i));
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return "kswapd: " + format(kswapd) + "; direct: " + format(direct);
    }
}
