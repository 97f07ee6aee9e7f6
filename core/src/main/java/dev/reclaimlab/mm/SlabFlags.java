package dev.reclaimlab.mm;

/** slab_flags_t for kmem_cache_create() (include/linux/slab.h), with the kernel's values. */
public final class SlabFlags {
    /** slub_debug=F: sanity checks on alloc and free. */
    public static final int SLAB_CONSISTENCY_CHECKS = 0x00000100;
    /** slub_debug=Z: red zones around each object. */
    public static final int SLAB_RED_ZONE = 0x00000400;
    /** slub_debug=P: poison freed objects. */
    public static final int SLAB_POISON = 0x00000800;
    public static final int SLAB_HWCACHE_ALIGN = 0x00002000;
    /** Objects are reclaimable through a shrinker: counted as SReclaimable. */
    public static final int SLAB_RECLAIM_ACCOUNT = 0x00020000;
    public static final int SLAB_PANIC = 0x00040000;
    /** Fault injection: with failslab's cache-filter, only caches with this flag fail. */
    public static final int SLAB_FAILSLAB = 0x02000000;

    public static final int SLAB_DEBUG_FLAGS = SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON;
    static final int VALID_FLAGS = SLAB_DEBUG_FLAGS | SLAB_HWCACHE_ALIGN | SLAB_RECLAIM_ACCOUNT | SLAB_PANIC
            | SLAB_FAILSLAB;

    private SlabFlags() {
    }
}
