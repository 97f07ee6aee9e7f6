package dev.reclaimlab.mm;

/**
 * gfp_t (include/linux/gfp_types.h): what an allocation may do to find memory. Bit positions follow the
 * kernel's ___GFP_* enumeration; the composite masks are the kernel's definitions.
 */
public final class Gfp {
    /** Highmem may serve it; the emulator has one zone, so only fail_page_alloc's ignore-gfp-highmem reads it. */
    public static final int __GFP_HIGHMEM = 1 << 1;
    public static final int __GFP_MOVABLE = 1 << 3;
    public static final int __GFP_RECLAIMABLE = 1 << 4;
    public static final int __GFP_HIGH = 1 << 5;
    public static final int __GFP_IO = 1 << 6;
    public static final int __GFP_FS = 1 << 7;
    public static final int __GFP_ZERO = 1 << 8;
    /**
     * Linux 4.3's cache-cold hint (0x100 there; gone since 4.15): the page is not touched soon, take it from
     * the cold end of the per-CPU list. The emulator keeps it so masks print as 4.3's do, at the otherwise
     * unused bit 9 of the later layout it follows; its per-CPU lists do not tell hot from cold.
     */
    public static final int __GFP_COLD = 1 << 9;
    public static final int __GFP_DIRECT_RECLAIM = 1 << 10;
    public static final int __GFP_KSWAPD_RECLAIM = 1 << 11;
    public static final int __GFP_WRITE = 1 << 12;
    public static final int __GFP_NOWARN = 1 << 13;
    public static final int __GFP_RETRY_MAYFAIL = 1 << 14;
    public static final int __GFP_NOFAIL = 1 << 15;
    public static final int __GFP_NORETRY = 1 << 16;
    public static final int __GFP_MEMALLOC = 1 << 17;
    public static final int __GFP_COMP = 1 << 18;
    public static final int __GFP_NOMEMALLOC = 1 << 19;
    public static final int __GFP_HARDWALL = 1 << 20;
    public static final int __GFP_ACCOUNT = 1 << 22;
    /** 4.12 (7e7844226f10): lockdep's reclaim check ignores this allocation; see Lockdep.GFP_NOLOCKDEP. */
    public static final int __GFP_NOLOCKDEP = 1 << 23;

    /** Every bit this emulator knows; anything else passed in is a caller's bug. */
    public static final int __GFP_BITS_MASK = __GFP_HIGHMEM | __GFP_MOVABLE | __GFP_RECLAIMABLE | __GFP_HIGH | __GFP_IO | __GFP_FS
            | __GFP_ZERO | __GFP_COLD | __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM | __GFP_WRITE | __GFP_NOWARN
            | __GFP_RETRY_MAYFAIL | __GFP_NOFAIL | __GFP_NORETRY | __GFP_MEMALLOC | __GFP_COMP | __GFP_NOMEMALLOC
            | __GFP_HARDWALL | __GFP_ACCOUNT | __GFP_NOLOCKDEP;

    public static final int __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;

    public static final int GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM;
    public static final int GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS;
    public static final int GFP_KERNEL_ACCOUNT = GFP_KERNEL | __GFP_ACCOUNT;
    public static final int GFP_NOWAIT = __GFP_KSWAPD_RECLAIM;
    public static final int GFP_NOIO = __GFP_RECLAIM;
    public static final int GFP_NOFS = __GFP_RECLAIM | __GFP_IO;
    public static final int GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL;
    public static final int GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM;
    public static final int GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE;

    // show_gfp_flags() order (include/trace/events/mmflags.h): composites first, so the widest name wins.
    private static final int[] MASKS = {GFP_HIGHUSER_MOVABLE, GFP_HIGHUSER, GFP_USER, GFP_KERNEL_ACCOUNT, GFP_KERNEL, GFP_NOFS,
        GFP_ATOMIC, GFP_NOIO, GFP_NOWAIT, __GFP_HIGH, __GFP_IO, __GFP_FS, __GFP_COLD, __GFP_NOWARN, __GFP_RETRY_MAYFAIL,
        __GFP_NOFAIL, __GFP_NORETRY, __GFP_COMP, __GFP_ZERO, __GFP_NOMEMALLOC, __GFP_MEMALLOC, __GFP_HARDWALL,
        __GFP_RECLAIMABLE, __GFP_MOVABLE, __GFP_HIGHMEM, __GFP_ACCOUNT, __GFP_NOLOCKDEP, __GFP_WRITE, __GFP_RECLAIM,
        __GFP_DIRECT_RECLAIM, __GFP_KSWAPD_RECLAIM};
    private static final String[] NAMES = {"GFP_HIGHUSER_MOVABLE", "GFP_HIGHUSER", "GFP_USER", "GFP_KERNEL_ACCOUNT", "GFP_KERNEL",
        "GFP_NOFS", "GFP_ATOMIC", "GFP_NOIO", "GFP_NOWAIT", "__GFP_HIGH", "__GFP_IO", "__GFP_FS", "__GFP_COLD", "__GFP_NOWARN",
        "__GFP_RETRY_MAYFAIL", "__GFP_NOFAIL", "__GFP_NORETRY", "__GFP_COMP", "__GFP_ZERO", "__GFP_NOMEMALLOC",
        "__GFP_MEMALLOC", "__GFP_HARDWALL", "__GFP_RECLAIMABLE", "__GFP_MOVABLE", "__GFP_HIGHMEM", "__GFP_ACCOUNT",
        "__GFP_NOLOCKDEP", "__GFP_WRITE", "__GFP_RECLAIM", "__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM"};

    private Gfp() {
    }

    /** gfpflags_allow_blocking(). */
    public static boolean allowsBlocking(int gfp) {
        return (gfp & __GFP_DIRECT_RECLAIM) != 0;
    }

    /**
     * The mask as the kernel's {@code %pGg} prints it: {@code GFP_KERNEL|__GFP_ZERO}; unknown bits as hex;
     * "none" for 0.
     */
    public static String format(int gfp) {
        if (gfp == 0) {
            return "none";
        }
        StringBuilder sb = new StringBuilder();
        int rest = gfp;
        for (int i = 0; i < MASKS.length && rest != 0; i++) {
            int m = MASKS[i];
            if ((rest & m) == m) {
                if (sb.length() > 0) {
                    sb.append('|');
                }
                sb.append(NAMES[i]);
                rest &= ~m;
            }
        }
        if (rest != 0) {
            if (sb.length() > 0) {
                sb.append('|');
            }
            sb.append("0x").append(Integer.toHexString(rest));
        }
        return sb.toString();
    }

    /** The kernel's warn_alloc() form: {@code 0xcc0(GFP_KERNEL)}. */
    public static String formatMode(int gfp) {
        return "0x" + Integer.toHexString(gfp) + "(" + format(gfp) + ")";
    }

    static void check(int gfp, String who) {
        if ((gfp & ~__GFP_BITS_MASK) != 0) {
            throw new IllegalArgumentException(who + ": gfp 0x" + Integer.toHexString(gfp) + " has unknown bits 0x"
                    + Integer.toHexString(gfp & ~__GFP_BITS_MASK));
        }
    }
}
