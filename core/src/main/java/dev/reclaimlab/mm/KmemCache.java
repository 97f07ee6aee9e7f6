package dev.reclaimlab.mm;

import dev.reclaimlab.locking.RawSpinLock;

import java.util.concurrent.atomic.AtomicLong;

/**
 * struct kmem_cache with its kmem_cache_cpu and kmem_cache_node (mm/slub.c, mm/slab.h).
 *
 * <p>Slab layout: objects at a fixed stride from the page start, then one int of metadata per object at
 * the end of the slab, as mm/slab.c kept its freelist_idx_t array on the slab. The metadata word is the
 * free list link of a free object (the next free index) or an "allocated" tag. So the allocator never
 * writes into object memory, a double free is always caught, use-after-free writes cannot corrupt a
 * free list, and power-of-two kmalloc objects keep their natural alignment.
 *
 * <p>A cache has two slab geometries, as SLUB's kmem_cache_order_objects: {@code oo}, the order
 * calculate_order() prefers, and {@code min}, the smallest order that holds one object, which
 * allocate_slab() falls back to when the preferred order cannot be had (see {@link Slub#SLUB_ORDER_FALLBACK}).
 * Each slab records its object count in its head page (page->objects), and its metadata array sits at the
 * end of that slab, so both geometries live in one cache.
 */
public final class KmemCache {
    // Per-CPU words, one 128-byte line per CPU (struct kmem_cache_cpu plus its stat counters).
    static final int PC_STRIDE = 16;
    static final int PC_FREELIST = 0;
    static final int PC_SLAB = 1;
    static final int PC_SLAB_VA = 2;
    /** The native address of the CPU slab's metadata array. */
    static final int PC_SLAB_META = 3;
    static final int PC_ALLOC = 4;
    static final int PC_FREE = 5;
    static final int PC_ALLOC_SLOWPATH = 6;
    static final int PC_FREE_REMOTE = 7;
    /** page->objects of the CPU slab. */
    static final int PC_SLAB_OBJECTS = 8;

    /** Metadata of an allocated object; a free one holds ((next + 1) << 2) | 1. */
    static final int META_ALLOCATED = 0xA110C8E2;
    static final int META_FREE_TAG = 1;
    static final int META_SIZE = 4;

    private static final int SLUB_MAX_ORDER = 3;

    final int id;
    final String name;
    final int objectSize;
    final int align;
    final int flags;
    final boolean debug;
    /** Slot stride. */
    final int size;
    /** Offset of the object in its slot: the left red zone in debug caches, else 0. */
    final int objOffset;
    /** s->oo: the preferred order, its objects, and the offset of its metadata array from the slab start. */
    final int order;
    final int objects;
    final int metaOffset;
    /** s->min: the smallest order that holds one object, and its geometry. */
    final int minOrder;
    final int minObjects;
    final int minMetaOffset;
    final long reciprocal;
    final int minPartial;
    final int allocGfp;
    final boolean reclaimable;

    final long[] percpu;

    // kmem_cache_node.
    final RawSpinLock listLock;
    int partialHead = MemMap.NO_PFN;
    int nrPartial;
    final AtomicLong nrSlabs = new AtomicLong();
    /** Pages and objects of all slabs: with two geometries neither is nrSlabs times a constant. */
    final AtomicLong nrPages = new AtomicLong();
    final AtomicLong totalObjects = new AtomicLong();
    /** The ORDER_FALLBACK stat: slabs allocate_slab() had to take at the minimum order. */
    final AtomicLong orderFallback = new AtomicLong();
    volatile boolean destroyed;
    /** Made by the kernel at boot (kmalloc-*, radix_tree_node): never destroyed while the kernel lives. */
    volatile boolean bootCache;
    /** SLAB_FAILSLAB, which /sys/kernel/slab/NAME/failslab changes at run time. */
    private volatile boolean failslab;

    KmemCache(int id, String name, int objectSize, int align, int flags, int nrCpus) {
        this.id = id;
        this.name = name;
        this.objectSize = objectSize;
        this.flags = flags;
        this.debug = (flags & SlabFlags.SLAB_DEBUG_FLAGS) != 0;
        this.align = calculateAlignment(flags, align, objectSize);
        int objRounded = Math.max(8, (objectSize + 7) & ~7);
        if (debug) {
            this.objOffset = Math.max(8, this.align);
            int rightRz = objRounded - objectSize + 8;
            this.size = alignUp(objOffset + objectSize + rightRz, this.align);
        } else {
            this.objOffset = 0;
            this.size = alignUp(objRounded, this.align);
        }
        this.order = calculateOrder(size, nrCpus);
        this.objects = objectsInOrder(order, size);
        if (objects < 1) {
            throw new IllegalArgumentException("kmem_cache_create(" + name + "): object size " + objectSize
                    + " does not fit an order-" + SLUB_MAX_ORDER + " slab");
        }
        this.metaOffset = (PhysMem.PAGE_SIZE << order) - objects * META_SIZE;
        int mo = 0;
        while (objectsInOrder(mo, size) < 1) {
            mo++;
        }
        this.minOrder = mo;
        this.minObjects = objectsInOrder(mo, size);
        this.minMetaOffset = (PhysMem.PAGE_SIZE << mo) - minObjects * META_SIZE;
        this.reciprocal = ((1L << 32) + size - 1) / size;
        // set_min_partial(): ilog2(size) / 2, clamped to [5, 10].
        this.minPartial = Math.max(5, Math.min(10, (31 - Integer.numberOfLeadingZeros(size)) / 2));
        this.reclaimable = (flags & SlabFlags.SLAB_RECLAIM_ACCOUNT) != 0;
        this.allocGfp = reclaimable ? Gfp.__GFP_RECLAIMABLE : 0;
        this.percpu = new long[(nrCpus + 1) * PC_STRIDE];
        for (int c = 0; c < nrCpus; c++) {
            percpu[(c + 1) * PC_STRIDE + PC_FREELIST] = -1;
            percpu[(c + 1) * PC_STRIDE + PC_SLAB] = MemMap.NO_PFN;
            percpu[(c + 1) * PC_STRIDE + PC_SLAB_OBJECTS] = 0;
        }
        this.listLock = new RawSpinLock(name + "->node.list_lock");
        this.failslab = (flags & SlabFlags.SLAB_FAILSLAB) != 0;
    }

    /** calculate_alignment(): SLAB_HWCACHE_ALIGN aligns to the cache line, halved while objects fit twice. */
    static int calculateAlignment(int flags, int align, int objectSize) {
        int a = Math.max(8, align);
        if ((flags & SlabFlags.SLAB_HWCACHE_ALIGN) != 0) {
            int ralign = 64;
            while (objectSize <= ralign / 2 && ralign > 8) {
                ralign /= 2;
            }
            a = Math.max(a, ralign);
        }
        return a;
    }

    /**
     * calculate_order(): the smallest order (at most 3) that holds min_objects with at most 1/16 waste,
     * relaxing the waste to 1/8 and 1/4 and then the object count, as the kernel does.
     */
    static int calculateOrder(int size, int nrCpus) {
        int minObjects = 4 * (32 - Integer.numberOfLeadingZeros(nrCpus) + 1);
        for (; minObjects >= 1; minObjects = minObjects > 1 ? minObjects / 2 : 0) {
            for (int fraction = 16; fraction >= 4; fraction /= 2) {
                for (int order = 0; order <= SLUB_MAX_ORDER; order++) {
                    int slab = PhysMem.PAGE_SIZE << order;
                    int objs = slab / (size + META_SIZE);
                    int waste = slab - objs * (size + META_SIZE);
                    if (objs >= minObjects && waste * fraction <= slab) {
                        return order;
                    }
                }
            }
        }
        return SLUB_MAX_ORDER;
    }

    private static int objectsInOrder(int order, int size) {
        return (PhysMem.PAGE_SIZE << order) / (size + META_SIZE);
    }

    /** The offset of the metadata array in a slab of {@code slabObjects} objects (page->objects). */
    int metaOffsetOf(int slabObjects) {
        return slabObjects == objects ? metaOffset : minMetaOffset;
    }

    /** The order of a slab of {@code slabObjects} objects. */
    int orderOf(int slabObjects) {
        return slabObjects == objects ? order : minOrder;
    }

    private static int alignUp(int v, int a) {
        return (v + a - 1) & -a;
    }

    /**
     * obj_to_index() by reciprocal multiply; -1 when {@code rel} is not the start of a slot of a slab of
     * {@code slabObjects} objects.
     */
    int objToIndex(long rel, int slabObjects) {
        if (rel < 0) {
            return -1;
        }
        int idx = (int) ((rel * reciprocal) >>> 32);
        return idx < slabObjects && (long) idx * size == rel ? idx : -1;
    }

    public String name() {
        return name;
    }

    public int objectSize() {
        return objectSize;
    }

    /** The slot stride, object plus red zones and padding. */
    public int size() {
        return size;
    }

    public int align() {
        return align;
    }

    /** The preferred order (s->oo). */
    public int order() {
        return order;
    }

    /** Objects in a slab of the preferred order. */
    public int objectsPerSlab() {
        return objects;
    }

    /** The order allocate_slab() falls back to (s->min). */
    public int minOrder() {
        return minOrder;
    }

    /** Objects in a slab of the minimum order. */
    public int minObjectsPerSlab() {
        return minObjects;
    }

    /** Pages held by this cache's slabs. */
    public long nrPages() {
        return nrPages.get();
    }

    /** Object slots in this cache's slabs, free or not. */
    public long totalObjects() {
        return totalObjects.get();
    }

    /** Slabs taken at the minimum order because the preferred one could not be had (ORDER_FALLBACK). */
    public long orderFallbacks() {
        return orderFallback.get();
    }

    public boolean debug() {
        return debug;
    }

    public boolean reclaimable() {
        return reclaimable;
    }

    /** Objects allocated and not yet freed, summed over CPUs (exact when no CPU is mid-operation). */
    public long activeObjects() {
        long a = 0;
        for (int b = PC_STRIDE; b < percpu.length; b += PC_STRIDE) {
            a += percpu[b + PC_ALLOC] - percpu[b + PC_FREE];
        }
        return a;
    }

    public long nrSlabs() {
        return nrSlabs.get();
    }

    /** /sys/kernel/slab/NAME/failslab: whether failslab's cache-filter lets this cache fail. */
    public boolean failslab() {
        return failslab;
    }

    public void setFailslab(boolean on) {
        this.failslab = on;
    }

    long statSum(int which) {
        long a = 0;
        for (int b = PC_STRIDE; b < percpu.length; b += PC_STRIDE) {
            a += percpu[b + which];
        }
        return a;
    }

    /** One /proc/slabinfo line (slabinfo version 2.1; SLUB has no tunables). */
    public String slabinfoLine() {
        long slabs = nrSlabs();
        return String.format("%-17s %6d %6d %6d %4d %4d : tunables %4d %4d %4d : slabdata %6d %6d %6d",
                name, activeObjects(), totalObjects(), objectSize, objects, 1 << order, 0, 0, 0, slabs, slabs, 0);
    }

    @Override
    public String toString() {
        return name;
    }
}
