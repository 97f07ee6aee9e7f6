package dev.reclaimlab.mm;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * zone->flags of the kernel's one zone, the reclaim bits of Linux 3.14 (include/linux/mmzone.h enum
 * zone_flags; 4.3 has them as ZONE_CONGESTED, ZONE_DIRTY, ZONE_WRITEBACK). shrink_inactive_list() sets
 * them from what a batch met; kswapd clears ZONE_CONGESTED and ZONE_TAIL_LRU_DIRTY once the zone is
 * balanced and ZONE_WRITEBACK after each of its passes. Nobody else clears them, so under steady pressure
 * they stay set.
 */
public final class ZoneFlags {
    /** Every dirty or writeback page a batch met was on a write-congested bdi (or already PG_reclaim). */
    public static final int ZONE_CONGESTED = 2;
    /** A whole batch was dirty and not yet queued for IO: kswapd may write file pages. */
    public static final int ZONE_TAIL_LRU_DIRTY = 3;
    /** A whole batch was under writeback: kswapd counts such PG_reclaim pages as nr_immediate. */
    public static final int ZONE_WRITEBACK = 4;

    private final AtomicInteger flags = new AtomicInteger();
    // Per flag, how often it went from clear to set and from set to clear (for reports and tests).
    private final AtomicLong[] sets = {new AtomicLong(), new AtomicLong(), new AtomicLong()};
    private final AtomicLong[] clears = {new AtomicLong(), new AtomicLong(), new AtomicLong()};

    ZoneFlags() {
    }

    /** zone_set_flag(). */
    void set(int flag) {
        int bit = 1 << check(flag);
        if ((flags.get() & bit) == 0 && (flags.getAndUpdate(f -> f | bit) & bit) == 0) {
            sets[flag - ZONE_CONGESTED].incrementAndGet();
        }
    }

    /** zone_clear_flag(). */
    void clear(int flag) {
        int bit = 1 << check(flag);
        if ((flags.get() & bit) != 0 && (flags.getAndUpdate(f -> f & ~bit) & bit) != 0) {
            clears[flag - ZONE_CONGESTED].incrementAndGet();
        }
    }

    /** zone_is_reclaim_congested(), zone_is_reclaim_dirty(), zone_is_reclaim_writeback(). */
    public boolean test(int flag) {
        return (flags.get() & (1 << check(flag))) != 0;
    }

    /** How often {@code flag} went from clear to set. */
    public long sets(int flag) {
        return sets[check(flag) - ZONE_CONGESTED].get();
    }

    /** How often {@code flag} went from set to clear (only kswapd clears). */
    public long clears(int flag) {
        return clears[check(flag) - ZONE_CONGESTED].get();
    }

    private static int check(int flag) {
        if (flag < ZONE_CONGESTED || flag > ZONE_WRITEBACK) {
            throw new IllegalArgumentException("zone flag " + flag + " is not ZONE_CONGESTED, ZONE_TAIL_LRU_DIRTY"
                    + " or ZONE_WRITEBACK");
        }
        return flag;
    }

    @Override
    public String toString() {
        int f = flags.get();
        StringBuilder sb = new StringBuilder();
        String[] names = {"ZONE_CONGESTED", "ZONE_TAIL_LRU_DIRTY", "ZONE_WRITEBACK"};
        for (int i = 0; i < names.length; i++) {
            if ((f & (1 << (ZONE_CONGESTED + i))) != 0) {
                sb.append(sb.length() == 0 ? "" : "|").append(names[i]);
            }
        }
        return sb.length() == 0 ? "0" : sb.toString();
    }
}
