package dev.reclaimlab.mm;

/**
 * The gfp masks of Linux 2.2.1 (include/linux/mm.h), expressed in this emulator's gfp bits so that one
 * page allocator serves both: 2.2 code allocates with these names and the 2.2 policy of
 * {@link PageAlloc#ZONE_ALLOCATOR} (off before 2.4) reads them.
 *
 * <pre>
 * 2.2.1            value  here
 * __GFP_WAIT       0x01   __GFP_DIRECT_RECLAIM   may sleep in try_to_free_pages()
 * __GFP_LOW        0x02   __GFP_NORETRY          fails when reclaim freed nothing (the only use 2.2 makes of it)
 * __GFP_MED        0x04   (none)                 goes on to the free lists whatever reclaim did: the default here
 * __GFP_HIGH       0x08   __GFP_HIGH             as __GFP_MED for the failure rule
 * __GFP_IO         0x10   __GFP_IO | __GFP_FS    reclaim may write: 2.2 had one bit for I/O and for fs locks
 * __GFP_SWAP       0x20   (none)                 no 2.2.1 code tests it
 * __GFP_DMA        0x80   (none)                 this kernel has no DMA zone
 * </pre>
 *
 * There is no GFP_NOIO or GFP_NOFS in 2.2: GFP_BUFFER is the one mask without __GFP_IO that may sleep.
 */
public final class Gfp22 {
    public static final int __GFP_WAIT = Gfp.__GFP_DIRECT_RECLAIM;
    public static final int __GFP_LOW = Gfp.__GFP_NORETRY;
    public static final int __GFP_MED = 0;
    public static final int __GFP_HIGH = Gfp.__GFP_HIGH;
    public static final int __GFP_IO = Gfp.__GFP_IO | Gfp.__GFP_FS;
    public static final int __GFP_SWAP = 0;

    public static final int GFP_BUFFER = __GFP_LOW | __GFP_WAIT;
    public static final int GFP_ATOMIC = __GFP_HIGH;
    public static final int GFP_USER = __GFP_LOW | __GFP_WAIT | __GFP_IO;
    public static final int GFP_KERNEL = __GFP_MED | __GFP_WAIT | __GFP_IO;
    public static final int GFP_NFS = __GFP_HIGH | __GFP_WAIT | __GFP_IO;
    public static final int GFP_KSWAPD = __GFP_IO | __GFP_SWAP;

    /** include/linux/slab.h (2.2): the slab's names for the same masks. */
    public static final int SLAB_ATOMIC = GFP_ATOMIC;
    public static final int SLAB_KERNEL = GFP_KERNEL;
    public static final int SLAB_BUFFER = GFP_BUFFER;

    private static final int[] MASKS = {GFP_NFS, GFP_KERNEL, GFP_USER, GFP_BUFFER, GFP_KSWAPD, GFP_ATOMIC};
    private static final String[] NAMES = {"GFP_NFS", "GFP_KERNEL", "GFP_USER", "GFP_BUFFER", "GFP_KSWAPD",
        "GFP_ATOMIC"};

    private Gfp22() {
    }

    /** {@code gfp_mask & __GFP_WAIT}. */
    public static boolean mayWait(int gfp) {
        return (gfp & __GFP_WAIT) != 0;
    }

    /** {@code gfp_mask & __GFP_IO}: reclaim may write pages and take filesystem locks. */
    public static boolean mayIo(int gfp) {
        return (gfp & Gfp.__GFP_IO) != 0 && (gfp & Gfp.__GFP_FS) != 0;
    }

    /** The 2.2 name of a mask this class composes ("GFP_USER"), else the bits by their 2.2 names. */
    public static String format(int gfp) {
        for (int i = 0; i < MASKS.length; i++) {
            if (gfp == MASKS[i]) {
                return NAMES[i];
            }
        }
        if (gfp == 0) {
            return "0";
        }
        StringBuilder sb = new StringBuilder();
        int rest = gfp;
        rest = part(sb, rest, __GFP_WAIT, "__GFP_WAIT");
        rest = part(sb, rest, __GFP_LOW, "__GFP_LOW");
        rest = part(sb, rest, __GFP_HIGH, "__GFP_HIGH");
        rest = part(sb, rest, __GFP_IO, "__GFP_IO");
        if (rest != 0) {
            sb.append(sb.length() > 0 ? "|" : "").append(Gfp.format(rest));
        }
        return sb.toString();
    }

    private static int part(StringBuilder sb, int rest, int mask, String name) {
        if ((rest & mask) == mask) {
            sb.append(sb.length() > 0 ? "|" : "").append(name);
            return rest & ~mask;
        }
        return rest;
    }
}
