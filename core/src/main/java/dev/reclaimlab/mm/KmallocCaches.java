package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;

/**
 * kmalloc() and kfree() (mm/slab_common.c): the kmalloc-8 .. kmalloc-8k caches, and whole pages for
 * anything larger (kmalloc_large(), marked so kfree() can tell).
 */
public final class KmallocCaches {
    public static final int KMALLOC_MIN_SIZE = 8;
    public static final int KMALLOC_MAX_CACHE_SIZE = 8192;
    /** KMALLOC_MAX_SIZE: the largest buddy block. */
    public static final long KMALLOC_MAX_SIZE = (long) PhysMem.PAGE_SIZE << PageAlloc.MAX_PAGE_ORDER;
    /** ZERO_SIZE_PTR: what kmalloc(0) returns; kfree() accepts it. */
    public static final long ZERO_SIZE_PTR = 16;

    private static final int[] SIZES = {8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192};

    private final Kernel kernel;
    private final PhysMem mem;
    private final MemMap map;
    private final PageAlloc pages;
    private final Slub slub;
    private final KmemCache[] bySize;
    /** size_index[]: (size - 1) / 8 for sizes up to 192 -> cache. */
    private final KmemCache[] small;

    KmallocCaches(Kernel kernel, PhysMem mem, MemMap map, PageAlloc pages, Slub slub) {
        this.kernel = kernel;
        this.mem = mem;
        this.map = map;
        this.pages = pages;
        this.slub = slub;
        this.bySize = new KmemCache[SIZES.length];
        for (int i = 0; i < SIZES.length; i++) {
            int sz = SIZES[i];
            String name = sz >= 1024 ? "kmalloc-" + (sz / 1024) + "k" : "kmalloc-" + sz;
            // create_kmalloc_cache(): a power-of-two size is its own alignment, so kmalloc(64) is 64-aligned
            // whatever slub_debug puts around it (the kernel guarantees this since 5.4, 59bb47985c1d).
            bySize[i] = slub.kmemCacheCreateBoot(name, sz, Integer.bitCount(sz) == 1 ? sz : 0, 0);
        }
        this.small = new KmemCache[192 / 8];
        for (int s = 1; s <= 192; s += 8) {
            small[(s - 1) / 8] = lookup(s + 7);
        }
    }

    private KmemCache lookup(int size) {
        for (int i = 0; i < SIZES.length; i++) {
            if (SIZES[i] >= size) {
                return bySize[i];
            }
        }
        throw new IllegalArgumentException("no kmalloc cache for " + size);
    }

    /** kmalloc_slab(): the cache serving {@code size}, or null above KMALLOC_MAX_CACHE_SIZE. */
    public KmemCache kmallocSlab(long size) {
        if (size <= 0) {
            throw new IllegalArgumentException("kmalloc_slab: size " + size + " is not positive");
        }
        if (size <= 192) {
            return small[(int) (size - 1) >>> 3];
        }
        if (size > KMALLOC_MAX_CACHE_SIZE) {
            return null;
        }
        return bySize[SIZE_INDEX_LARGE[64 - Long.numberOfLeadingZeros(size - 1)]];
    }

    // fls(size - 1) -> index in SIZES for 193..8192 (256 = index 7 ... 8192 = index 12).
    private static final int[] SIZE_INDEX_LARGE = {0, 0, 0, 0, 0, 0, 0, 0, 7, 8, 9, 10, 11, 12};

    /**
     * kmalloc(): {@code size} bytes, or 0 on failure. kmalloc(0) is {@link #ZERO_SIZE_PTR}. Sizes above
     * KMALLOC_MAX_SIZE or below zero are a caller's bug and throw.
     */
    public long kmalloc(long size, int gfp) {
        if (size <= 0 || size > KMALLOC_MAX_CACHE_SIZE) {
            if (size == 0) {
                return ZERO_SIZE_PTR;
            }
            return kmallocLarge(size, gfp);
        }
        return slub.kmemCacheAlloc(kmallocSlab(size), gfp);
    }

    /** kmalloc_large(): whole pages, marked PG_large_kmalloc. */
    private long kmallocLarge(long size, int gfp) {
        if (size < 0 || size > KMALLOC_MAX_SIZE) {
            throw new IllegalArgumentException("kmalloc: size " + size + " is outside [0, " + KMALLOC_MAX_SIZE + "]");
        }
        int order = 64 - Long.numberOfLeadingZeros((size - 1) >>> PhysMem.PAGE_SHIFT);
        int pfn = pages.allocPages(gfp | Gfp.__GFP_COMP, order);
        if (pfn == MemMap.NO_PFN) {
            return 0;
        }
        map.setFlag(pfn, PageFlags.PG_large_kmalloc);
        return PhysMem.virtOfPfn(pfn);
    }

    /** kfree(): frees what kmalloc() returned; kfree(0) and kfree(ZERO_SIZE_PTR) do nothing. */
    public void kfree(long addr) {
        if (addr == 0 || addr == ZERO_SIZE_PTR) {
            return;
        }
        Task t = kernel.currentTask();
        mem.checkRange(addr, 1, "kfree");
        int pfn = (int) ((addr - PhysMem.PAGE_OFFSET) >>> PhysMem.PAGE_SHIFT);
        int head = map.compoundHead(pfn);
        if (map.testFlag(head, PageFlags.PG_slab)) {
            slub.slabFree(t, slub.cacheOfSlab(head), head, addr);
            return;
        }
        if (map.state(head) == MemMap.STATE_ALLOC && map.testFlag(head, PageFlags.PG_large_kmalloc)) {
            if (addr != PhysMem.virtOfPfn(head)) {
                throw new IllegalArgumentException(String.format("kfree(0x%x): points into the large kmalloc at"
                        + " 0x%x, not at its start (caller %s)", addr, PhysMem.virtOfPfn(head), SlubDebug.caller()));
            }
            map.clearFlag(head, PageFlags.PG_large_kmalloc);
            pages.freePagesInternal(head, map.order(head));
            return;
        }
        throw new IllegalArgumentException(String.format("kfree(0x%x): not a kmalloc'ed object: pfn %d is %s"
                + " (double free of a large kmalloc, or a bad pointer; caller %s)", addr, pfn, slub.describePage(head),
                SlubDebug.caller()));
    }

    /** ksize(): the usable size of a kmalloc'ed object. */
    public long ksize(long addr) {
        if (addr == 0 || addr == ZERO_SIZE_PTR) {
            return 0;
        }
        mem.checkRange(addr, 1, "ksize");
        int head = map.compoundHead((int) ((addr - PhysMem.PAGE_OFFSET) >>> PhysMem.PAGE_SHIFT));
        if (map.testFlag(head, PageFlags.PG_slab)) {
            KmemCache s = slub.cacheOfSlab(head);
            if (!slub.isAllocatedObject(s, head, addr)) {
                throw new IllegalArgumentException(String.format("ksize(0x%x): not an allocated object of %s", addr,
                        s));
            }
            return s.objectSize;
        }
        if (map.state(head) == MemMap.STATE_ALLOC && map.testFlag(head, PageFlags.PG_large_kmalloc)
                && addr == PhysMem.virtOfPfn(head)) {
            return (long) PhysMem.PAGE_SIZE << map.order(head);
        }
        throw new IllegalArgumentException(String.format("ksize(0x%x): not a kmalloc'ed object", addr));
    }
}
