package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.RawSpinLock;
import org.agrona.UnsafeApi;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.reclaimlab.mm.KmemCache.META_ALLOCATED;
import static dev.reclaimlab.mm.KmemCache.META_FREE_TAG;
import static dev.reclaimlab.mm.KmemCache.META_SIZE;
import static dev.reclaimlab.mm.KmemCache.PC_ALLOC;
import static dev.reclaimlab.mm.KmemCache.PC_ALLOC_SLOWPATH;
import static dev.reclaimlab.mm.KmemCache.PC_FREE;
import static dev.reclaimlab.mm.KmemCache.PC_FREELIST;
import static dev.reclaimlab.mm.KmemCache.PC_FREE_REMOTE;
import static dev.reclaimlab.mm.KmemCache.PC_SLAB;
import static dev.reclaimlab.mm.KmemCache.PC_SLAB_META;
import static dev.reclaimlab.mm.KmemCache.PC_SLAB_OBJECTS;
import static dev.reclaimlab.mm.KmemCache.PC_SLAB_VA;
import static dev.reclaimlab.mm.KmemCache.PC_STRIDE;
import static dev.reclaimlab.mm.MemMap.NO_PFN;

/**
 * mm/slub.c: per-CPU slabs allocated from and freed to with only the CPU held; a slab frozen to a CPU
 * takes frees from other CPUs on its own freelist under slab_lock(); unfrozen slabs with free objects sit
 * on the node's partial list under list_lock (taken before slab_lock); empty slabs beyond min_partial go
 * back to the page allocator. Free lists are object indexes (see {@link KmemCache}).
 *
 * <p>Lock order, as mm/slub.c keeps it:
 * <ol>
 * <li>slab_mutex: the list of caches and their creation and destruction. Held only by kmemCacheCreate,
 *     kmemCacheDestroy and the walks over every cache; never on an allocation or free.</li>
 * <li>the emulated CPU (preempt_disable()): a CPU's slab and its freelist belong to whoever holds the
 *     CPU; the fast paths take nothing else.</li>
 * <li>kmem_cache_node::list_lock: the partial list, and which slabs are on it. A free that may move a slab
 *     between lists (it was full, or it becomes empty) takes it before the slab's lock.</li>
 * <li>slab_lock() (the bit spin lock on PG_locked of the slab's head page): the slab's own freelist,
 *     inuse and frozen state. Frees from other CPUs change a frozen slab only under it, so its owner can
 *     take them back at once (the kernel's cmpxchg_double does the same without a lock).</li>
 * </ol>
 * A new slab is taken from the page allocator with no SLUB lock held, since that may enter reclaim; it is
 * freed to it after list_lock is dropped.
 */
public final class Slub {
    /**
     * SLUB since 2.6.26: a slab is first asked for at the cache's preferred order, allowed to fail
     * ({@code __GFP_NORETRY | __GFP_NOWARN}), then at the smallest order that holds one object with the
     * caller's gfp. Off for 2.2, whose slab grows at one order per cache.
     */
    public static final Fix SLUB_ORDER_FALLBACK = Fix.declare("slub_order_fallback",
            "allocate_slab() tries the cache's preferred order with __GFP_NORETRY and falls back to the minimum"
                    + " order with the caller's gfp",
            "65c3376aaca9 slub: Fallback to minimal order during slab page allocation",
            new KernelVersion(2, 6, 26));
    /**
     * 4.3 (merged for 4.3-rc1): the first, preferred-order try of a slab above the minimum order does not
     * reclaim and does not dip into the reserves, so under pressure a cache grows at the minimum order and
     * only that allocation, with the caller's gfp, reclaims.
     */
    public static final Fix SLUB_NOWAIT_HIGH_ORDER = Fix.declare("slub_nowait_high_order",
            "allocate_slab()'s preferred-order try drops __GFP_WAIT and adds __GFP_NOMEMALLOC when that order is"
                    + " above the minimum",
            "6af3142bed1f mm/slub: don't wait for high-order page allocation", KernelVersion.V4_3);
    /** 4.4: the same try no longer wakes kswapd either (__GFP_RECLAIM, not only the direct part). */
    public static final Fix SLUB_HIGH_ORDER_NO_KSWAPD = Fix.declare("slub_high_order_no_kswapd",
            "allocate_slab()'s preferred-order try above the minimum clears both reclaim bits, so it does not"
                    + " wake kswapd",
            "d0164adc89f6 mm, page_alloc: distinguish between being unable to sleep, unwilling to sleep and"
                    + " avoiding waking kswapd", new KernelVersion(4, 4));

    /** {@link #onFreelist} answers. */
    public static final int OBJECT_ALLOCATED = 0;
    public static final int OBJECT_ON_FREELIST = 1;
    public static final int OBJECT_LOST = 2;
    public static final int FREELIST_CORRUPT = 3;

    private final Kernel kernel;
    private final PhysMem mem;
    private final MemMap map;
    private final PageAlloc pages;
    private final VmStat vmstat;
    private final SlubDebug debug;
    private final Failslab failslab;
    private final SlubInspect inspect;
    private final RawSpinLock slabMutex = new RawSpinLock("slab_mutex");
    /** The version's allocate_slab(): whether it falls back, and the reclaim bits its first try drops. */
    private final boolean slubOrderFallback;
    private final int highOrderNoReclaim;
    private volatile KmemCache[] caches = new KmemCache[16];
    private int nextId = 1;

    Slub(Kernel kernel, PhysMem mem, MemMap map, PageAlloc pages, VmStat vmstat) {
        this.kernel = kernel;
        this.mem = mem;
        this.map = map;
        this.pages = pages;
        this.vmstat = vmstat;
        this.debug = new SlubDebug(kernel, mem, map);
        this.failslab = new Failslab(kernel);
        this.inspect = new SlubInspect(this, kernel, mem, map);
        this.slubOrderFallback = kernel.config().has(SLUB_ORDER_FALLBACK);
        this.highOrderNoReclaim = !kernel.config().has(SLUB_NOWAIT_HIGH_ORDER) ? 0
                : kernel.config().has(SLUB_HIGH_ORDER_NO_KSWAPD) ? Gfp.__GFP_RECLAIM : Gfp.__GFP_DIRECT_RECLAIM;
    }

    /** failslab: fault injection into this kernel's slab allocations. */
    public Failslab failslab() {
        return failslab;
    }

    SlubDebug debugger() {
        return debug;
    }

    /**
     * kmem_cache_create(): a cache of {@code size}-byte objects aligned to {@code align} (0 for the default).
     * With slub_debug on the kernel command line every cache gets red zones, poisoning and checks.
     */
    public KmemCache kmemCacheCreate(String name, int size, int align, int flags) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("kmem_cache_create: a cache needs a name");
        }
        if (size < 1 || size > KmallocCaches.KMALLOC_MAX_CACHE_SIZE * 2) {
            throw new IllegalArgumentException("kmem_cache_create(" + name + "): object size " + size
                    + " is outside [1, " + KmallocCaches.KMALLOC_MAX_CACHE_SIZE * 2 + "]");
        }
        if (align < 0 || align > KmallocCaches.KMALLOC_MAX_CACHE_SIZE || (align & (align - 1)) != 0) {
            throw new IllegalArgumentException("kmem_cache_create(" + name + "): align " + align
                    + " is not 0 or a power of two up to " + KmallocCaches.KMALLOC_MAX_CACHE_SIZE);
        }
        if ((flags & ~SlabFlags.VALID_FLAGS) != 0) {
            throw new IllegalArgumentException("kmem_cache_create(" + name + "): unknown flags 0x"
                    + Integer.toHexString(flags & ~SlabFlags.VALID_FLAGS));
        }
        if (kernel.config().slubDebug()) {
            flags |= SlabFlags.SLAB_DEBUG_FLAGS;
        }
        mem.checkAlive("kmem_cache_create(" + name + ")");
        slabMutex.lock();
        try {
            int id = nextId++;
            KmemCache s = new KmemCache(id, name, size, align, flags, kernel.nrCpus());
            KmemCache[] cs = caches;
            if (id >= cs.length) {
                cs = Arrays.copyOf(cs, cs.length * 2);
            }
            cs[id] = s;
            caches = cs;
            return s;
        } finally {
            slabMutex.unlock();
        }
    }

    /** create_boot_cache(): a cache the kernel itself owns and that kmem_cache_destroy() refuses. */
    KmemCache kmemCacheCreateBoot(String name, int size, int align, int flags) {
        KmemCache s = kmemCacheCreate(name, size, align, flags);
        s.bootCache = true;
        return s;
    }

    /** Every live cache, in creation order. */
    public List<KmemCache> caches() {
        List<KmemCache> out = new ArrayList<>();
        for (KmemCache s : caches) {
            if (s != null) {
                out.add(s);
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- allocation

    /** kmem_cache_alloc(): an object's kernel address, or 0 when no slab page could be had. */
    public long kmemCacheAlloc(KmemCache s, int gfp) {
        Task t = kernel.currentTask();
        checkCache(s, "kmem_cache_alloc");
        if ((gfp & ~Gfp.__GFP_BITS_MASK) != 0) {
            Gfp.check(gfp, "kmem_cache_alloc(" + s + ")");
        }
        pages.mightAlloc(t, gfp);
        if (failslab.attr().probability() != 0 && failslab.shouldFailslab(t, s, gfp)) {
            return 0;
        }
        long obj = allocFast(t, s);
        if (obj == 0) {
            obj = slabAlloc(t, s, gfp);
            if (obj == 0) {
                return 0;
            }
        }
        if (s.debug) {
            debug.allocDebug(s, obj);
        }
        if ((gfp & Gfp.__GFP_ZERO) != 0) {
            UnsafeApi.setMemory(mem.nativeOf(obj), s.objectSize, (byte) 0);
        }
        return obj;
    }

    /** The lockless fast path: pop the CPU freelist. 0 when it is empty. */
    private long allocFast(Task t, KmemCache s) {
        int cpu = t.getCpu();
        try {
            long[] pc = s.percpu;
            int b = (cpu + 1) * PC_STRIDE;
            return pc[b + PC_FREELIST] < 0 ? 0 : popLocked(s, pc, b);
        } finally {
            t.putCpu();
        }
    }

    /**
     * ___slab_alloc(): refill the CPU freelist from frees that reached the CPU slab, else from a partial
     * slab, else from a new slab. The CPU is let go while the page allocator may sleep.
     */
    private long slabAlloc(Task t, KmemCache s, int gfp) {
        for (;;) {
            int cpu = t.getCpu();
            try {
                int b = (cpu + 1) * PC_STRIDE;
                long[] pc = s.percpu;
                pc[b + PC_ALLOC_SLOWPATH]++;
                if (pc[b + PC_FREELIST] < 0) {
                    int slab = (int) pc[b + PC_SLAB];
                    if (slab != NO_PFN && !takeRemoteFrees(s, pc, b, slab)) {
                        pc[b + PC_SLAB] = NO_PFN;
                    }
                    if (pc[b + PC_FREELIST] < 0) {
                        getPartial(s, pc, b);
                    }
                }
                if (pc[b + PC_FREELIST] >= 0) {
                    return popLocked(s, pc, b);
                }
            } finally {
                t.putCpu();
            }
            int slab = allocateSlab(s, gfp);
            if (slab == NO_PFN) {
                return 0;
            }
            int cpu2 = t.getCpu();
            try {
                int b = (cpu2 + 1) * PC_STRIDE;
                long[] pc = s.percpu;
                if (pc[b + PC_SLAB] != NO_PFN) {
                    // Another task on this CPU installed a slab while we slept: retire it.
                    deactivateSlab(s, pc, b);
                }
                installCpuSlab(s, pc, b, slab, 0);
                return popLocked(s, pc, b);
            } finally {
                t.putCpu();
            }
        }
    }

    /** Pops the CPU freelist of the CPU whose words start at {@code b}; the caller holds that CPU. */
    private long popLocked(KmemCache s, long[] pc, int b) {
        long idx = pc[b + PC_FREELIST];
        long meta = pc[b + PC_SLAB_META] + idx * META_SIZE;
        int m = UnsafeApi.getInt(meta);
        // A corrupted link (a stray write into the metadata) must not send the next pop outside the slab.
        if ((m & 3) != META_FREE_TAG || (m >> 2) - 1 >= pc[b + PC_SLAB_OBJECTS]) {
            throw debug.freelistCorrupted(s, (int) pc[b + PC_SLAB], (int) idx, m);
        }
        pc[b + PC_FREELIST] = (m >> 2) - 1;
        UnsafeApi.putInt(meta, META_ALLOCATED);
        pc[b + PC_ALLOC]++;
        return pc[b + PC_SLAB_VA] + idx * s.size + s.objOffset;
    }

    private void installCpuSlab(KmemCache s, long[] pc, int b, int slab, long freelist) {
        int objects = map.objects(slab);
        pc[b + PC_SLAB] = slab;
        pc[b + PC_SLAB_VA] = PhysMem.virtOfPfn(slab);
        pc[b + PC_SLAB_META] = mem.nativeOfPfn(slab) + s.metaOffsetOf(objects);
        pc[b + PC_SLAB_OBJECTS] = objects;
        pc[b + PC_FREELIST] = freelist;
    }

    /**
     * get_freelist(): takes the frees other CPUs left on the frozen CPU slab. When there are none the
     * slab is full and is unfrozen in the same slab_lock section, so a later remote free sees it unfrozen
     * and puts it on the partial list. Returns false when the slab was unfrozen.
     */
    private boolean takeRemoteFrees(KmemCache s, long[] pc, int b, int slab) {
        map.bitSpinLock(slab, PageFlags.PG_locked);
        long fl = map.freelist(slab);
        if (fl >= 0) {
            map.setFreelist(slab, -1);
            map.setInuse(slab, map.objects(slab));
        } else {
            map.setFrozen(slab, false);
        }
        map.bitSpinUnlock(slab, PageFlags.PG_locked);
        if (fl >= 0) {
            pc[b + PC_FREELIST] = fl;
            return true;
        }
        return false;
    }

    /** get_partial(): freezes the first partial slab to this CPU. */
    private void getPartial(KmemCache s, long[] pc, int b) {
        if (s.nrPartial == 0) {
            return;
        }
        s.listLock.lock();
        try {
            int slab = s.partialHead;
            if (slab == NO_PFN) {
                return;
            }
            removePartial(s, slab);
            map.bitSpinLock(slab, PageFlags.PG_locked);
            long fl = map.freelist(slab);
            map.setFreelist(slab, -1);
            map.setInuse(slab, map.objects(slab));
            map.setFrozen(slab, true);
            map.bitSpinUnlock(slab, PageFlags.PG_locked);
            installCpuSlab(s, pc, b, slab, fl);
        } finally {
            s.listLock.unlock();
        }
    }

    /**
     * allocate_slab(): a fresh slab with every object free, frozen for the caller. May sleep. With
     * {@link #SLUB_ORDER_FALLBACK} the preferred order is asked for with {@code __GFP_NORETRY |
     * __GFP_NOWARN} (and, with {@link #SLUB_NOWAIT_HIGH_ORDER}, without direct reclaim when it is above the
     * minimum), then the minimum order with the caller's gfp.
     */
    private int allocateSlab(KmemCache s, int gfp) {
        int flags = (gfp & ~Gfp.__GFP_ZERO) | s.allocGfp | Gfp.__GFP_COMP;
        int pfn;
        int objects;
        if (slubOrderFallback) {
            int allocGfp = (flags | Gfp.__GFP_NOWARN | Gfp.__GFP_NORETRY) & ~Gfp.__GFP_NOFAIL;
            if ((allocGfp & Gfp.__GFP_DIRECT_RECLAIM) != 0 && s.order > s.minOrder && highOrderNoReclaim != 0) {
                allocGfp = (allocGfp | Gfp.__GFP_NOMEMALLOC) & ~highOrderNoReclaim;
            }
            pfn = pages.allocPages(allocGfp, s.order);
            objects = s.objects;
            if (pfn == NO_PFN) {
                pfn = pages.allocPages(flags, s.minOrder);
                objects = s.minObjects;
                if (pfn != NO_PFN) {
                    s.orderFallback.incrementAndGet();
                }
            }
        } else {
            pfn = pages.allocPages(flags, s.order);
            objects = s.objects;
        }
        if (pfn == NO_PFN) {
            return NO_PFN;
        }
        int order = s.orderOf(objects);
        map.setFlag(pfn, PageFlags.PG_slab);
        map.setSlabCache(pfn, s.id);
        map.setObjects(pfn, objects);
        map.setInuse(pfn, objects);
        map.setFrozen(pfn, true);
        map.setFreelist(pfn, -1);
        long meta = mem.nativeOfPfn(pfn) + s.metaOffsetOf(objects);
        for (int i = 0; i < objects; i++) {
            int next = i + 1 < objects ? i + 1 : -1;
            UnsafeApi.putInt(meta + (long) i * META_SIZE, ((next + 1) << 2) | META_FREE_TAG);
        }
        if (s.debug) {
            debug.initSlab(s, pfn);
        }
        s.nrSlabs.incrementAndGet();
        s.nrPages.addAndGet(1L << order);
        s.totalObjects.addAndGet(objects);
        Task t = kernel.currentTask();
        int cpu = t.getCpu();
        vmstat.mod(cpu, s.reclaimable ? VmStatItem.NR_SLAB_RECLAIMABLE_B : VmStatItem.NR_SLAB_UNRECLAIMABLE_B,
                (long) PhysMem.PAGE_SIZE << order);
        t.putCpu();
        return pfn;
    }

    /**
     * deactivate_slab(): returns the CPU slab and its CPU freelist to the node: merged into the slab's own
     * freelist, then full (no list), partial, or discarded when empty and the node has enough partials.
     */
    private void deactivateSlab(KmemCache s, long[] pc, int b) {
        int slab = (int) pc[b + PC_SLAB];
        long cpuFree = pc[b + PC_FREELIST];
        pc[b + PC_SLAB] = NO_PFN;
        pc[b + PC_FREELIST] = -1;
        if (slab == NO_PFN) {
            return;
        }
        int objects = map.objects(slab);
        long meta = mem.nativeOfPfn(slab) + s.metaOffsetOf(objects);
        int count = 0;
        long tail = -1;
        for (long i = cpuFree; i >= 0; ) {
            count++;
            tail = i;
            int m = UnsafeApi.getInt(meta + i * META_SIZE);
            i = (m >> 2) - 1;
            if ((m & 3) != META_FREE_TAG || i >= objects || count > objects) {
                throw debug.freelistCorrupted(s, slab, (int) tail, m);
            }
        }
        boolean discard = false;
        s.listLock.lock();
        try {
            map.bitSpinLock(slab, PageFlags.PG_locked);
            long slabFree = map.freelist(slab);
            if (tail >= 0) {
                UnsafeApi.putInt(meta + tail * META_SIZE, (int) (((slabFree + 1) << 2) | META_FREE_TAG));
                slabFree = cpuFree;
                map.setFreelist(slab, slabFree);
            }
            int inuse = map.inuse(slab) - count;
            map.setInuse(slab, inuse);
            map.setFrozen(slab, false);
            map.bitSpinUnlock(slab, PageFlags.PG_locked);
            if (inuse == 0 && s.nrPartial >= s.minPartial) {
                discard = true;
            } else if (slabFree >= 0) {
                addPartial(s, slab);
            }
        } finally {
            s.listLock.unlock();
        }
        if (discard) {
            discardSlab(s, slab);
        }
    }

    // ---------------------------------------------------------------- freeing

    /** kmem_cache_free(): throws, naming cache and object, for a pointer that is not a live object of s. */
    public void kmemCacheFree(KmemCache s, long addr) {
        Task t = kernel.currentTask();
        checkCache(s, "kmem_cache_free");
        int slab = slabOf(addr, "kmem_cache_free", s);
        KmemCache owner = caches[map.slabCache(slab)];
        if (owner != s) {
            throw new IllegalArgumentException(String.format("kmem_cache_free(%s, 0x%x): Wrong slab cache. %s but"
                    + " object is from %s (caller %s)", s, addr, s, owner, SlubDebug.caller()));
        }
        slabFree(t, s, slab, addr);
    }

    /**
     * Throws unless {@code s} is a live cache of this kernel: not null, not destroyed, not another kernel's,
     * and the kernel is not closed. Two loads and a compare on the allocation and free paths.
     */
    void checkCache(KmemCache s, String who) {
        KmemCache[] cs = caches;
        if (s == null || s.id >= cs.length || cs[s.id] != s || mem.released()) {
            throw badCache(s, who);
        }
    }

    private RuntimeException badCache(KmemCache s, String who) {
        if (s == null) {
            return new IllegalArgumentException(who + ": cache is null");
        }
        mem.checkAlive(who + "(" + s + ")");
        if (s.destroyed) {
            return new IllegalStateException(who + "(" + s + "): cache was destroyed");
        }
        return new IllegalArgumentException(who + "(" + s + "): the cache belongs to another kernel");
    }

    /**
     * The head pfn of the slab holding {@code addr}; throws, naming {@code op} on cache {@code s}, when it
     * is not a slab page. The message is built only on that path: this runs on every free.
     */
    int slabOf(long addr, String op, KmemCache s) {
        if (mem.released() || !mem.virtAddrValid(addr)) {
            mem.checkRange(addr, 1, op + "(" + s + ")");
        }
        int pfn = (int) ((addr - PhysMem.PAGE_OFFSET) >>> PhysMem.PAGE_SHIFT);
        int head = map.compoundHead(pfn);
        if (!map.testFlag(head, PageFlags.PG_slab)) {
            throw new IllegalArgumentException(String.format("%s(%s): 0x%x is not a slab object (pfn %d is %s)", op,
                    s, addr, pfn, describePage(head)));
        }
        return head;
    }

    String describePage(int pfn) {
        switch (map.state(pfn)) {
            case MemMap.STATE_ALLOC:
                return map.testFlag(pfn, PageFlags.PG_large_kmalloc) ? "a large kmalloc"
                        : "a page allocation of order " + map.order(pfn);
            case MemMap.STATE_TAIL:
                return "a tail page";
            default:
                return "a free page";
        }
    }

    KmemCache cacheOfSlab(int slab) {
        return caches[map.slabCache(slab)];
    }

    /** Whether {@code addr} is the start of an allocated object of {@code s} in {@code slab}; read-only. */
    boolean isAllocatedObject(KmemCache s, int slab, long addr) {
        int objects = map.objects(slab);
        int idx = s.objToIndex(addr - PhysMem.virtOfPfn(slab) - s.objOffset, objects);
        return idx >= 0 && UnsafeApi.getInt(mem.nativeOfPfn(slab) + s.metaOffsetOf(objects) + (long) idx * META_SIZE)
                == META_ALLOCATED;
    }

    void slabFree(Task t, KmemCache s, int slab, long addr) {
        long rel = addr - PhysMem.virtOfPfn(slab) - s.objOffset;
        int objects = map.objects(slab);
        int idx = s.objToIndex(rel, objects);
        if (idx < 0) {
            throw new IllegalArgumentException(String.format("kmem_cache_free(%s, 0x%x): not the start of an object"
                    + " (slab at pfn %d, stride %d, caller %s)", s, addr, slab, s.size, SlubDebug.caller()));
        }
        long meta = mem.nativeOfPfn(slab) + s.metaOffsetOf(objects) + (long) idx * META_SIZE;
        int m = UnsafeApi.getInt(meta);
        if (m != META_ALLOCATED) {
            throw debug.badFree(s, slab, idx, addr, m);
        }
        if (s.debug) {
            debug.freeDebug(s, slab, addr);
        }
        int cpu = t.getCpu();
        try {
            long[] pc = s.percpu;
            int b = (cpu + 1) * PC_STRIDE;
            pc[b + PC_FREE]++;
            if (pc[b + PC_SLAB] == slab) {
                UnsafeApi.putInt(meta, (int) (((pc[b + PC_FREELIST] + 1) << 2) | META_FREE_TAG));
                pc[b + PC_FREELIST] = idx;
                return;
            }
            pc[b + PC_FREE_REMOTE]++;
        } finally {
            t.putCpu();
        }
        slabFreeRemote(s, slab, idx, meta);
    }

    /**
     * __slab_free(): a free to a slab that is not this CPU's. list_lock is taken first whenever the free
     * may move the slab between lists (it was full, or becomes empty), then slab_lock, as SLUB orders them.
     */
    private void slabFreeRemote(KmemCache s, int slab, int idx, long meta) {
        boolean listLocked = false;
        boolean discard = false;
        try {
            for (;;) {
                map.bitSpinLock(slab, PageFlags.PG_locked);
                long prior = map.freelist(slab);
                int inuse = map.inuse(slab);
                boolean frozen = map.frozen(slab);
                if (!frozen && (prior < 0 || inuse == 1) && !listLocked) {
                    map.bitSpinUnlock(slab, PageFlags.PG_locked);
                    s.listLock.lock();
                    listLocked = true;
                    continue;
                }
                UnsafeApi.putInt(meta, (int) (((prior + 1) << 2) | META_FREE_TAG));
                map.setFreelist(slab, idx);
                map.setInuse(slab, inuse - 1);
                map.bitSpinUnlock(slab, PageFlags.PG_locked);
                if (listLocked && !frozen) {
                    if (inuse - 1 == 0 && s.nrPartial >= s.minPartial) {
                        if (prior >= 0) {
                            removePartial(s, slab);
                        }
                        discard = true;
                    } else if (prior < 0) {
                        addPartial(s, slab);
                    }
                }
                break;
            }
        } finally {
            if (listLocked) {
                s.listLock.unlock();
            }
        }
        if (discard) {
            discardSlab(s, slab);
        }
    }

    /** discard_slab(): returns the slab's pages; the number of pages given back. */
    private int discardSlab(KmemCache s, int slab) {
        int objects = map.objects(slab);
        int order = s.orderOf(objects);
        map.clearFlag(slab, PageFlags.PG_slab);
        map.setSlabCache(slab, 0);
        s.nrSlabs.decrementAndGet();
        s.nrPages.addAndGet(-(1L << order));
        s.totalObjects.addAndGet(-objects);
        Task t = kernel.currentTask();
        int cpu = t.getCpu();
        vmstat.mod(cpu, s.reclaimable ? VmStatItem.NR_SLAB_RECLAIMABLE_B : VmStatItem.NR_SLAB_UNRECLAIMABLE_B,
                -((long) PhysMem.PAGE_SIZE << order));
        t.putCpu();
        pages.freePagesInternal(slab, order);
        return 1 << order;
    }

    // Partial list, list_lock held. Linked through the slab page's lru words.
    private void addPartial(KmemCache s, int slab) {
        int head = s.partialHead;
        map.setLruPrev(slab, NO_PFN);
        map.setLruNext(slab, head);
        if (head != NO_PFN) {
            map.setLruPrev(head, slab);
        }
        s.partialHead = slab;
        s.nrPartial++;
    }

    private void removePartial(KmemCache s, int slab) {
        int prev = map.lruPrev(slab);
        int next = map.lruNext(slab);
        if (prev == NO_PFN) {
            s.partialHead = next;
        } else {
            map.setLruNext(prev, next);
        }
        if (next != NO_PFN) {
            map.setLruPrev(next, prev);
        }
        map.setLruNext(slab, NO_PFN);
        map.setLruPrev(slab, NO_PFN);
        s.nrPartial--;
    }

    // ---------------------------------------------------------------- shrink, destroy

    /** flush_all(): every CPU's slab of {@code s} back to the node, each flushed on its own CPU. */
    void flushAll(KmemCache s) {
        Task t = kernel.currentTask();
        for (int c = 0; c < kernel.nrCpus(); c++) {
            int b = (c + 1) * PC_STRIDE;
            t.runOnCpu(c, () -> deactivateSlab(s, s.percpu, b));
        }
    }

    /**
     * kmem_cache_shrink(): flushes the CPU slabs and frees every empty slab, whatever min_partial says.
     * Returns the number of pages given back.
     */
    public long kmemCacheShrink(KmemCache s) {
        checkCache(s, "kmem_cache_shrink");
        flushAll(s);
        List<Integer> empty = new ArrayList<>();
        s.listLock.lock();
        try {
            for (int slab = s.partialHead; slab != NO_PFN; ) {
                int next = map.lruNext(slab);
                if (map.inuse(slab) == 0) {
                    removePartial(s, slab);
                    empty.add(slab);
                }
                slab = next;
            }
        } finally {
            s.listLock.unlock();
        }
        long freed = 0;
        for (int slab : empty) {
            freed += discardSlab(s, slab);
        }
        return freed;
    }

    /** Shrinks every cache: what reclaim calls to get slab pages back (drain_all_pages' slab twin). */
    public long shrinkAllCaches() {
        mem.checkAlive("shrinkAllCaches");
        long freed = 0;
        for (KmemCache s : caches()) {
            freed += kmemCacheShrink(s);
        }
        return freed;
    }

    /** kmem_cache_destroy(): refuses, naming the cache and its live objects, while any object is allocated. */
    public void kmemCacheDestroy(KmemCache s) {
        checkCache(s, "kmem_cache_destroy");
        if (s.bootCache) {
            throw new IllegalArgumentException("kmem_cache_destroy(" + s + "): the kernel's own cache, made at boot");
        }
        kmemCacheShrink(s);
        long live = s.activeObjects();
        if (live != 0 || s.nrSlabs() != 0) {
            throw new IllegalStateException("kmem_cache_destroy " + s + ": Slab cache still has objects: " + live
                    + " allocated in " + s.nrSlabs() + " slabs");
        }
        s.destroyed = true;
        slabMutex.lock();
        try {
            caches[s.id] = null;
        } finally {
            slabMutex.unlock();
        }
    }

    /** validate_slab_cache(); see {@link SlubInspect#kmemCacheValidate}. */
    public List<String> kmemCacheValidate(KmemCache s) {
        return inspect.kmemCacheValidate(s);
    }

    /** on_freelist() for one object, read-only; see {@link SlubInspect#onFreelist}. */
    public int onFreelist(KmemCache s, long addr) {
        return inspect.onFreelist(s, addr);
    }

    /** /proc/slabinfo. */
    public String slabinfo() {
        return inspect.slabinfo();
    }
}
