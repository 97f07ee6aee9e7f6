package dev.reclaimlab.kernel;

/** task_struct::flags, with the kernel's values (include/linux/sched.h). */
public final class TaskFlags {
    public static final int PF_EXITING = 0x00000004;
    /** A workqueue worker (set by worker_thread() and rescuer_thread()). */
    public static final int PF_WQ_WORKER = 0x00000020;
    public static final int PF_MEMALLOC = 0x00000800;
    public static final int PF_KSWAPD = 0x00020000;
    public static final int PF_MEMALLOC_NOFS = 0x00040000;
    public static final int PF_MEMALLOC_NOIO = 0x00080000;
    /**
     * 3.14's PF_FSTRANS ("inside a filesystem transaction"), the bit 4.12 renamed PF_MEMALLOC_NOFS (7dea19f9ee63):
     * the emulator keeps one bit for both. In 3.14 only nfs_release_page() and XFS's kmem layer honoured it;
     * the emulator's allocator honours it in every version (as RFC 04/19 proposed for 3.15), which changes
     * nothing in 3.14 runs: its 3.14 holders (XFS transactions, rpciod) allocate NOFS or NOIO anyway.
     */
    public static final int PF_FSTRANS = PF_MEMALLOC_NOFS;
    /** Removed in 5.x; the 2014 loop-back NFS series relies on it for nfsd. */
    public static final int PF_LESS_THROTTLE = 0x00100000;
    public static final int PF_KTHREAD = 0x00200000;

    private static final int[] BITS = {PF_EXITING, PF_WQ_WORKER, PF_MEMALLOC, PF_KSWAPD, PF_MEMALLOC_NOFS,
        PF_MEMALLOC_NOIO, PF_LESS_THROTTLE, PF_KTHREAD};
    private static final String[] NAMES = {"PF_EXITING", "PF_WQ_WORKER", "PF_MEMALLOC", "PF_KSWAPD",
        "PF_MEMALLOC_NOFS", "PF_MEMALLOC_NOIO", "PF_LESS_THROTTLE", "PF_KTHREAD"};

    private TaskFlags() {
    }

    /** "PF_MEMALLOC|PF_KSWAPD", or "0" when none is set. */
    public static String format(int flags) {
        StringBuilder sb = new StringBuilder();
        int rest = flags;
        for (int i = 0; i < BITS.length; i++) {
            if ((flags & BITS[i]) != 0) {
                if (sb.length() > 0) {
                    sb.append('|');
                }
                sb.append(NAMES[i]);
                rest &= ~BITS[i];
            }
        }
        if (rest != 0) {
            if (sb.length() > 0) {
                sb.append('|');
            }
            sb.append("0x").append(Integer.toHexString(rest));
        }
        return sb.length() == 0 ? "0" : sb.toString();
    }
}
