package dev.reclaimlab.mm;

/**
 * enum pageflags (include/linux/page-flags.h). Bits are set and cleared atomically on the page
 * descriptor, as set_bit()/clear_bit() do, because reclaim and IO completion race on them.
 */
public final class PageFlags {
    public static final int PG_locked = 0;
    public static final int PG_writeback = 1;
    public static final int PG_referenced = 2;
    public static final int PG_uptodate = 3;
    public static final int PG_dirty = 4;
    public static final int PG_lru = 5;
    public static final int PG_head = 6;
    public static final int PG_waiters = 7;
    public static final int PG_active = 8;
    public static final int PG_slab = 11;
    public static final int PG_reserved = 14;
    public static final int PG_private = 15;
    public static final int PG_reclaim = 18;
    /** PG_readahead is PG_reclaim's bit (4.3: PAGEFLAG(Readahead, reclaim)): a clean page never needs both. */
    public static final int PG_readahead = PG_reclaim;
    public static final int PG_swapbacked = 19;
    /** The kernel marks this with a page type (PGTY_large_kmalloc); a flag here. */
    public static final int PG_large_kmalloc = 30;

    private static final int[] BITS = {PG_locked, PG_writeback, PG_referenced, PG_uptodate, PG_dirty, PG_lru,
        PG_head, PG_waiters, PG_active, PG_slab, PG_reserved, PG_private, PG_reclaim, PG_swapbacked,
        PG_large_kmalloc};
    private static final String[] NAMES = {"locked", "writeback", "referenced", "uptodate", "dirty", "lru", "head",
        "waiters", "active", "slab", "reserved", "private", "reclaim", "swapbacked", "large_kmalloc"};

    private PageFlags() {
    }

    /** The kernel's name of one flag bit: "PG_locked". */
    public static String name(int bit) {
        for (int i = 0; i < BITS.length; i++) {
            if (BITS[i] == bit) {
                return "PG_" + NAMES[i];
            }
        }
        return "PG_" + bit;
    }

    /** As %pGp prints page flags: {@code referenced|uptodate|lru}. */
    public static String format(long flags) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < BITS.length; i++) {
            if ((flags & (1L << BITS[i])) != 0) {
                if (sb.length() > 0) {
                    sb.append('|');
                }
                sb.append(NAMES[i]);
            }
        }
        return sb.toString();
    }
}
