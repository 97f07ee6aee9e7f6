package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Lockdep;
import dev.reclaimlab.locking.RawSpinLock;
import dev.reclaimlab.locking.Throttle;
import dev.reclaimlab.trace.ReclaimEvent;

import java.util.concurrent.atomic.AtomicLong;

import static dev.reclaimlab.kernel.TaskFlags.PF_MEMALLOC;
import static dev.reclaimlab.mm.Gfp.__GFP_DIRECT_RECLAIM;
import static dev.reclaimlab.mm.Gfp.__GFP_HIGH;
import static dev.reclaimlab.mm.Gfp.__GFP_KSWAPD_RECLAIM;
import static dev.reclaimlab.mm.Gfp.__GFP_MEMALLOC;
import static dev.reclaimlab.mm.Gfp.__GFP_NOFAIL;
import static dev.reclaimlab.mm.Gfp.__GFP_NOMEMALLOC;
import static dev.reclaimlab.mm.Gfp.__GFP_NORETRY;
import static dev.reclaimlab.mm.Gfp.__GFP_ZERO;
import static dev.reclaimlab.mm.MemMap.NO_PFN;
import static dev.reclaimlab.mm.MemMap.STATE_ALLOC;
import static dev.reclaimlab.mm.MemMap.STATE_BUDDY;
import static dev.reclaimlab.mm.MemMap.STATE_NONE;
import static dev.reclaimlab.mm.MemMap.STATE_PCP;
import static dev.reclaimlab.mm.MemMap.STATE_TAIL;

/**
 * mm/page_alloc.c for the kernel's one zone: buddy free lists of orders 0..{@value #MAX_PAGE_ORDER} under
 * zone->lock, per-CPU lists of order-0 pages taken and refilled in batches with only the CPU held,
 * min/low/high watermarks from min_free_kbytes, and the slow path: wake kswapd, dip to min, direct
 * reclaim, retry, fail. A page is named by its pfn (the emulator's struct page pointer); -1 is NULL.
 */
public final class PageAlloc {
    /**
     * The allocator this class models: zones with per-zone watermarks, kswapd woken below low, direct reclaim
     * in a retry loop, per-CPU page lists. Without it (a 2.2 kernel) allocation follows 2.2's
     * __get_free_pages() instead: see {@link GetFreePages22} and {@link Gfp22}.
     */
    public static final Fix ZONE_ALLOCATOR = Fix.declare("zone_allocator",
            "__alloc_pages() over zones with watermarks, kswapd and a reclaim retry loop; before it, 2.2's"
                    + " __get_free_pages(): freepages.min/high hysteresis (low_on_memory), one synchronous"
                    + " try_to_free_pages() per call, no per-CPU lists",
            "the 2.3.x zone allocator, first released in 2.4.0", new KernelVersion(2, 4, 0));

    public static final int MAX_PAGE_ORDER = 10;
    public static final int NR_PAGE_ORDERS = MAX_PAGE_ORDER + 1;
    public static final int NULL_PAGE = NO_PFN;
    static final int MAX_RECLAIM_RETRIES = 16;
    /** Above this order an allocation is "costly": 4.3 neither loops for it nor OOM-kills for it. */
    public static final int PAGE_ALLOC_COSTLY_ORDER = 3;
    /** The sleep after the OOM killer, 4.3's schedule_timeout_uninterruptible(1): one jiffy. */
    static final long OOM_SLEEP_JIFFIES = 1;

    /**
     * 4.7's OOM detection rework: small allocations no longer retry for as long as reclaim frees anything
     * (4.3's "too small to fail"); should_reclaim_retry() gives up after {@link #MAX_RECLAIM_RETRIES}
     * rounds without progress. Here, then, an order-0 GFP_KERNEL allocation that reclaim cannot serve
     * fails after the OOM report instead of sleeping a jiffy and trying again.
     */
    public static final Fix SHOULD_RECLAIM_RETRY = Fix.declare("should_reclaim_retry",
            "the allocator gives up after MAX_RECLAIM_RETRIES (16) rounds of direct reclaim without progress"
                    + " instead of retrying small orders for ever",
            "0a0337e0d1d1 mm, oom: rework oom detection (Michal Hocko, 4.7)", new KernelVersion(4, 7));

    /**
     * 4.4: a high-order allocation needs only the order-0 watermark and one free block of its order or
     * above. Before it (3.14, 4.3), __zone_watermark_ok() took each lower order's free pages away and
     * halved the mark per order, so a fragmented zone refuses order-1 allocations well above min.
     */
    public static final Fix ORDER0_WATERMARKS = Fix.declare("order0_watermarks",
            "__zone_watermark_ok() enforces the watermark on order-0 pages only and asks a high-order"
                    + " allocation for one free block of its order or above",
            "97a16fc82a7c mm, page_alloc: only enforce watermarks for order-0 allocations",
            new KernelVersion(4, 4));

    // alloc_flags (mm/internal.h).
    static final int ALLOC_WMARK_MIN = 0;
    static final int ALLOC_WMARK_LOW = 1;
    static final int ALLOC_WMARK_HIGH = 2;
    static final int ALLOC_WMARK_MASK = 3;
    static final int ALLOC_NO_WATERMARKS = 0x04;
    static final int ALLOC_HIGH = 0x20;

    private static final int PCP_PAD = 16;

    private final Kernel kernel;
    private final Lockdep lockdep;
    private final PhysMem mem;
    private final MemMap map;
    private final VmStat vmstat;
    private final Lru lru;
    private volatile ReclaimHooks hooks = ReclaimHooks.NONE;
    private final FailPageAlloc failPageAlloc;
    private final Throttle oomThrottle = new Throttle("out_of_memory: schedule_timeout_killable(1)");

    private final RawSpinLock zoneLock = new RawSpinLock("zone->lock");
    private final int[] freeHead = new int[NR_PAGE_ORDERS];
    private final long[] nrFree = new long[NR_PAGE_ORDERS];
    private volatile long nrFreePages;
    /** zone->pages_scanned: LRU pages global reclaim scanned since a page was last freed to the buddy lists. */
    private final AtomicLong pagesScanned = new AtomicLong();
    private final long managedPages;
    private final long minFreeKbytes;
    private final long[] watermark = new long[3];
    private final boolean order0Watermarks;

    private final int pcpBatch;
    private final int pcpHigh;
    private final int pcpCap;
    private final int[] pcpPages;
    private final int[] pcpCount;
    // Non-null on a kernel without ZONE_ALLOCATOR: 2.2's policy, and no per-CPU lists.
    private final GetFreePages22 legacy;

    /**
     * free_area_init() and memblock_free_all(): every page free in the buddy lists. {@code vmstat} and
     * {@code lru} come built (Mm makes them first); the reclaim hooks are installed by the reclaim
     * subsystem that owns them, once it exists ({@link #setReclaimHooks}).
     */
    PageAlloc(Kernel kernel, PhysMem mem, MemMap map, VmStat vmstat, Lru lru) {
        this.kernel = kernel;
        this.lockdep = kernel.lockdep();
        this.mem = mem;
        this.map = map;
        this.vmstat = vmstat;
        this.lru = lru;
        this.failPageAlloc = new FailPageAlloc(kernel);
        this.order0Watermarks = kernel.config().has(ORDER0_WATERMARKS);
        this.managedPages = mem.nrPages();
        long cfg = kernel.config().minFreeKbytes();
        this.minFreeKbytes = cfg > 0 ? cfg : defaultMinFreeKbytes(managedPages);
        setupPerZoneWmarks();
        this.pcpBatch = zoneBatchsize(managedPages);
        this.pcpHigh = 6 * pcpBatch;
        this.pcpCap = pcpHigh + pcpBatch;
        int nrCpus = kernel.nrCpus();
        this.pcpPages = new int[nrCpus * pcpCap];
        this.pcpCount = new int[(nrCpus + 1) * PCP_PAD];
        java.util.Arrays.fill(freeHead, NO_PFN);
        memblockFreeAll();
        this.legacy = kernel.config().has(ZONE_ALLOCATOR) ? null : new GetFreePages22(this, managedPages);
    }

    /** fail_page_alloc: fault injection into this kernel's page allocations. */
    public FailPageAlloc failPageAlloc() {
        return failPageAlloc;
    }

    /**
     * Installs kswapd and direct reclaim: the reclaim subsystem plugs itself in once it exists (Mm's
     * constructor for the zone allocator's vmscan, the 2.2 world for its try_to_free_pages(); tests install
     * their own to script reclaim).
     */
    public void setReclaimHooks(ReclaimHooks h) {
        this.hooks = h == null ? ReclaimHooks.NONE : h;
    }

    /** init_per_zone_wmark_min(): sqrt(lowmem_kbytes * 16), clamped to [128, 262144]. */
    static long defaultMinFreeKbytes(long pages) {
        long lowmemKbytes = pages * (PhysMem.PAGE_SIZE / 1024);
        long v = (long) Math.sqrt((double) lowmemKbytes * 16);
        return Math.max(128, Math.min(262144, v));
    }

    /** __setup_per_zone_wmarks() with watermark_scale_factor 10. */
    private void setupPerZoneWmarks() {
        long min = minFreeKbytes >> (PhysMem.PAGE_SHIFT - 10);
        long tmp = Math.max(min >> 2, managedPages * 10 / 10000);
        watermark[ALLOC_WMARK_MIN] = min;
        watermark[ALLOC_WMARK_LOW] = min + tmp;
        watermark[ALLOC_WMARK_HIGH] = min + 2 * tmp;
    }

    /** zone_batchsize(): about a quarter of a megabyte per 1024 pages, at most 63. */
    static int zoneBatchsize(long pages) {
        long batch = Math.min(pages / 1024, (1L << 20) / PhysMem.PAGE_SIZE);
        batch /= 4;
        if (batch < 1) {
            batch = 1;
        }
        long b = batch + batch / 2;
        return (int) Math.max(1, Long.highestOneBit(b) - 1);
    }

    /** memblock_free_all(): every page goes to the buddy lists in the largest aligned blocks that fit. */
    private void memblockFreeAll() {
        int n = mem.nrPages();
        int pfn = 0;
        while (pfn < n) {
            int order = MAX_PAGE_ORDER;
            while (order > 0 && ((pfn & ((1 << order) - 1)) != 0 || pfn + (1 << order) > n)) {
                order--;
            }
            addToFreeList(pfn, order);
            pfn += 1 << order;
        }
        nrFreePages = n;
    }

    public long minWmark() {
        return watermark[ALLOC_WMARK_MIN];
    }

    public long lowWmark() {
        return watermark[ALLOC_WMARK_LOW];
    }

    public long highWmark() {
        return watermark[ALLOC_WMARK_HIGH];
    }

    public long minFreeKbytes() {
        return minFreeKbytes;
    }

    public long managedPages() {
        return managedPages;
    }

    /** NR_FREE_PAGES: pages on the buddy lists (pcp pages are not counted, as in the kernel). */
    public long nrFreePages() {
        return nrFreePages;
    }

    public int pcpBatch() {
        return pcpBatch;
    }

    public int pcpHigh() {
        return pcpHigh;
    }

    /** Pages on all per-CPU lists right now. */
    public long pcpPages() {
        long s = 0;
        for (int c = 0; c < kernel.nrCpus(); c++) {
            s += pcpCount[(c + 1) * PCP_PAD];
        }
        return s;
    }

    /** free_area[order].nr_free: free blocks of exactly {@code order}. */
    public long nrFreeBlocks(int order) {
        checkOrder(order, "nrFreeBlocks");
        zoneLock.lock();
        try {
            return nrFree[order];
        } finally {
            zoneLock.unlock();
        }
    }

    // ---------------------------------------------------------------- allocation

    /**
     * alloc_pages(): a block of 2^order pages, or {@link #NULL_PAGE} when the gfp mask allows nothing more
     * (ask {@link AllocFailure#of} why). May sleep in direct reclaim when the mask allows it.
     */
    public int allocPages(int gfp, int order) {
        Task t = kernel.currentTask();
        if ((gfp & ~Gfp.__GFP_BITS_MASK) != 0) {
            Gfp.check(gfp, "allocPages");
        }
        if (order < 0 || order > MAX_PAGE_ORDER) {
            checkOrder(order, "allocPages");
        }
        mem.checkAlive("allocPages");
        if (failPageAlloc.attr().probability() != 0 && failPageAlloc.shouldFailAllocPage(t, gfp, order)) {
            return fail(t, gfp, order, AllocFailure.Reason.FAULT_INJECTION);
        }
        mightAlloc(t, gfp);
        // The task's scoped NOIO/NOFS applies to every allocator version (2.2 had no scopes, but a rule a
        // 2.2 kernel is given may set one, such as an IO flusher's).
        gfp = SchedMm.currentGfpContext(t, gfp);
        if (legacy != null) {
            int p = legacy.getFreePages(t, gfp, order, hooks);
            if (p != NO_PFN) {
                prepNewPage(p, order, gfp);
            }
            return p;
        }
        int pfn = getPageFromFreelist(t, order, ALLOC_WMARK_LOW);
        if (pfn == NO_PFN) {
            pfn = allocPagesSlowpath(t, gfp, order);
            if (pfn == NO_PFN) {
                return NO_PFN;
            }
        }
        prepNewPage(pfn, order, gfp);
        return pfn;
    }

    /**
     * might_sleep_if() and lockdep's allocation hook at the allocator's entry: an allocation that may block
     * must not come from atomic context, whether or not it would block this time, and lockdep notes every
     * allocation that could enter filesystem reclaim (the version decides how: see
     * Lockdep#reclaimAllocHook): both catch the bug on the first call, not the first time memory is short.
     * {@code gfp} is as the caller passed it, before current_gfp_context(), as the kernel's hooks see it.
     */
    void mightAlloc(Task t, int gfp) {
        boolean direct = (gfp & __GFP_DIRECT_RECLAIM) != 0;
        if (direct && t.preemptCount() != 0) {
            throw new IllegalStateException("BUG: sleeping function called from invalid context: " + t
                    + " allocates with " + Gfp.format(gfp) + " at preempt_count " + t.preemptCount());
        }
        lockdep.reclaimAllocHook(t, gfp);
    }

    /** __get_free_pages(): the kernel address of a new block, or 0. */
    public long getFreePages(int gfp, int order) {
        int pfn = allocPages(gfp, order);
        return pfn == NO_PFN ? 0 : PhysMem.virtOfPfn(pfn);
    }

    private int getPageFromFreelist(Task t, int order, int allocFlags) {
        if ((allocFlags & ALLOC_NO_WATERMARKS) == 0 && !zoneWatermarkOk(order, allocFlags)) {
            return NO_PFN;
        }
        return rmqueue(t, order);
    }

    /**
     * rmqueue(): an order-0 page from this CPU's list, else a block from the buddy lists under zone->lock
     * (always the latter before the zone allocator: 2.2 had no per-CPU lists). No watermark check.
     */
    int rmqueue(Task t, int order) {
        int cpu = t.getCpu();
        try {
            int pfn;
            if (order == 0 && legacy == null) {
                pfn = rmqueuePcplist(cpu);
            } else {
                zoneLock.lock();
                try {
                    pfn = rmqueueSmallest(order);
                    if (pfn != NO_PFN) {
                        nrFreePages -= 1L << order;
                    }
                } finally {
                    zoneLock.unlock();
                }
            }
            if (pfn != NO_PFN) {
                vmstat.mod(cpu, VmStatItem.PGALLOC_NORMAL, 1L << order);
            }
            return pfn;
        } finally {
            t.putCpu();
        }
    }

    /** zone_watermark_ok(): racy reads, as in the kernel; the free lists decide under the lock. */
    private boolean zoneWatermarkOk(int order, int allocFlags) {
        long min = watermark[allocFlags & ALLOC_WMARK_MASK];
        if ((allocFlags & ALLOC_HIGH) != 0) {
            min -= min / 2;
        }
        long freePages = nrFreePages - (1L << order) + 1;
        if (freePages <= min) {
            return false;
        }
        if (order == 0) {
            return true;
        }
        if (!order0Watermarks) {
            // At each higher order this order's free pages no longer count; fewer are required.
            for (int o = 0; o < order; o++) {
                freePages -= nrFree[o] << o;
                min >>= 1;
                if (freePages <= min) {
                    return false;
                }
            }
            return true;
        }
        for (int o = order; o < NR_PAGE_ORDERS; o++) {
            if (nrFree[o] > 0) {
                return true;
            }
        }
        return false;
    }

    private int rmqueuePcplist(int cpu) {
        int ci = (cpu + 1) * PCP_PAD;
        int count = pcpCount[ci];
        if (count == 0) {
            count = rmqueueBulk(cpu, pcpBatch);
            if (count == 0) {
                return NO_PFN;
            }
        }
        count--;
        pcpCount[ci] = count;
        return pcpPages[cpu * pcpCap + count];
    }

    /** rmqueue_bulk(): refills {@code cpu}'s list with up to {@code batch} order-0 pages. */
    private int rmqueueBulk(int cpu, int batch) {
        int base = cpu * pcpCap;
        int n = 0;
        zoneLock.lock();
        try {
            while (n < batch) {
                int pfn = rmqueueSmallest(0);
                if (pfn == NO_PFN) {
                    break;
                }
                map.setState(pfn, STATE_PCP);
                pcpPages[base + n++] = pfn;
            }
            nrFreePages -= n;
        } finally {
            zoneLock.unlock();
        }
        pcpCount[(cpu + 1) * PCP_PAD] = n;
        return n;
    }

    /** __rmqueue_smallest(): the first free block of at least {@code order}, split down. zone->lock held. */
    private int rmqueueSmallest(int order) {
        for (int o = order; o < NR_PAGE_ORDERS; o++) {
            int pfn = freeHead[o];
            if (pfn == NO_PFN) {
                continue;
            }
            delFromFreeList(pfn, o);
            expand(pfn, order, o);
            map.setState(pfn, STATE_NONE);
            return pfn;
        }
        return NO_PFN;
    }

    /** expand(): returns the upper halves of a split block to the lower free lists. */
    private void expand(int pfn, int low, int high) {
        while (high > low) {
            high--;
            addToFreeList(pfn + (1 << high), high);
        }
    }

    /** 2.2's try_to_free_pages() from the allocator, counted where the zoned allocator counts direct reclaim. */
    void countAllocstall(Task t) {
        int cpu = t.getCpu();
        vmstat.inc(cpu, VmStatItem.ALLOCSTALL_NORMAL);
        t.putCpu();
    }

    /** freepages.min of a 2.2 kernel; the min watermark otherwise. */
    public long freepagesMin() {
        return legacy != null ? legacy.min() : watermark[ALLOC_WMARK_MIN];
    }

    /** freepages.low of a 2.2 kernel; the low watermark otherwise. */
    public long freepagesLow() {
        return legacy != null ? legacy.low() : watermark[ALLOC_WMARK_LOW];
    }

    /** freepages.high of a 2.2 kernel; the high watermark otherwise. */
    public long freepagesHigh() {
        return legacy != null ? legacy.high() : watermark[ALLOC_WMARK_HIGH];
    }

    /** 2.2's low_on_memory: set when free memory fell to freepages.min, cleared at freepages.high. */
    public boolean lowOnMemory() {
        return legacy != null && legacy.lowOnMemory();
    }

    private void prepNewPage(int pfn, int order, int gfp) {
        map.setFlagsPlain(pfn, order > 0 ? 1L << PageFlags.PG_head : 0);
        map.setRefcount(pfn, 1);
        map.setOrder(pfn, order);
        map.setCompoundHead(pfn, pfn);
        map.clearOwnerFields(pfn);
        map.setState(pfn, STATE_ALLOC);
        int n = 1 << order;
        for (int i = 1; i < n; i++) {
            int tail = pfn + i;
            map.setState(tail, STATE_TAIL);
            map.setCompoundHead(tail, pfn);
            map.setFlagsPlain(tail, 0);
        }
        if ((gfp & __GFP_ZERO) != 0) {
            org.agrona.UnsafeApi.setMemory(mem.nativeOfPfn(pfn), (long) n << PhysMem.PAGE_SHIFT, (byte) 0);
        }
    }

    // ---------------------------------------------------------------- slow path

    /** gfp_to_alloc_flags(). */
    private static int gfpToAllocFlags(int gfp) {
        int f = ALLOC_WMARK_MIN;
        if ((gfp & __GFP_HIGH) != 0) {
            f |= ALLOC_HIGH;
        }
        return f;
    }

    /** __gfp_pfmemalloc_flags(): reclaimers may use the reserves below min, so reclaim can progress. */
    private static boolean mayUseReserves(Task t, int gfp) {
        if ((gfp & __GFP_NOMEMALLOC) != 0) {
            return false;
        }
        return (gfp & __GFP_MEMALLOC) != 0 || (t.flags() & PF_MEMALLOC) != 0;
    }

    /**
     * __alloc_pages_slowpath(): wake kswapd, dip to the min watermark (reserves for reclaimers), direct
     * reclaim, then retry or give up as the kernel's version decides ({@link #SHOULD_RECLAIM_RETRY}).
     */
    private int allocPagesSlowpath(Task t, int gfp, int order) {
        int allocFlags = gfpToAllocFlags(gfp);
        boolean reclaimRetry = kernel.config().has(SHOULD_RECLAIM_RETRY);
        int noProgress = 0;
        for (;;) {
            if ((gfp & __GFP_KSWAPD_RECLAIM) != 0) {
                hooks.wakeupKswapd(order, gfp);
            }
            int pfn = getPageFromFreelist(t, order, allocFlags);
            if (pfn != NO_PFN) {
                return pfn;
            }
            if (mayUseReserves(t, gfp)) {
                pfn = getPageFromFreelist(t, order, allocFlags | ALLOC_NO_WATERMARKS);
                if (pfn != NO_PFN) {
                    return pfn;
                }
            }
            if ((gfp & __GFP_DIRECT_RECLAIM) == 0) {
                return fail(t, gfp, order, AllocFailure.Reason.NO_DIRECT_RECLAIM);
            }
            if ((t.flags() & PF_MEMALLOC) != 0) {
                return fail(t, gfp, order, AllocFailure.Reason.RECLAIM_RECURSION);
            }
            long progress = directReclaim(t, gfp, order);
            if (progress > 0) {
                // __alloc_pages_direct_reclaim(): what was freed may sit on other CPUs' lists.
                pfn = getPageFromFreelist(t, order, allocFlags);
                if (pfn == NO_PFN) {
                    drainAllPages();
                    pfn = getPageFromFreelist(t, order, allocFlags);
                }
                if (pfn != NO_PFN) {
                    return pfn;
                }
            }
            if ((gfp & __GFP_NORETRY) != 0) {
                return fail(t, gfp, order, AllocFailure.Reason.NORETRY);
            }
            if (!reclaimRetry) {
                // 4.3: small orders retry for as long as reclaim makes progress, and then some.
                if (progress > 0 && order <= PAGE_ALLOC_COSTLY_ORDER) {
                    hooks.allocRetryWait(gfp, order);
                    continue;
                }
                int oom = allocPagesMayOom(t, gfp, order);
                if (oom >= 0) {
                    return oom;
                }
                if (oom == MAY_OOM_PROGRESS) {
                    hooks.allocRetryWait(gfp, order);
                    continue;
                }
                return fail(t, gfp, order, order > PAGE_ALLOC_COSTLY_ORDER ? AllocFailure.Reason.COSTLY_ORDER
                        : AllocFailure.Reason.NO_PROGRESS);
            }
            noProgress = progress > 0 ? 0 : noProgress + 1;
            if (noProgress > MAX_RECLAIM_RETRIES) {
                if ((gfp & __GFP_NOFAIL) == 0) {
                    if (Oom.wouldOom(gfp, order)) {
                        hooks.outOfMemory(t, gfp, order);
                        return fail(t, gfp, order, AllocFailure.Reason.OOM);
                    }
                    return fail(t, gfp, order, AllocFailure.Reason.NO_PROGRESS);
                }
                // __GFP_NOFAIL loops for ever, throttled; the watchdog sees the stall.
                t.scheduleTimeout(1_000_000L);
            }
        }
    }

    /** {@link #allocPagesMayOom} found nothing but asks for another round. */
    private static final int MAY_OOM_PROGRESS = -2;
    /** {@link #allocPagesMayOom}: give up. */
    private static final int MAY_OOM_FAIL = -3;

    /**
     * __alloc_pages_may_oom() as in Linux 4.3: a last look at the high watermark, then, for orders up to
     * PAGE_ALLOC_COSTLY_ORDER, the OOM killer if the gfp may enter the filesystem; without __GFP_FS "keep
     * looping as per tradition". The emulator has no process to kill: out_of_memory() prints the report (at
     * most once a second) and, as after a kill, the allocator sleeps a jiffy and retries. A pfn, or
     * {@link #MAY_OOM_PROGRESS} to retry, or {@link #MAY_OOM_FAIL}.
     */
    private int allocPagesMayOom(Task t, int gfp, int order) {
        int pfn = getPageFromFreelist(t, order, ALLOC_WMARK_HIGH);
        if (pfn != NO_PFN) {
            return pfn;
        }
        if ((gfp & __GFP_NOFAIL) == 0) {
            if (order > PAGE_ALLOC_COSTLY_ORDER) {
                return MAY_OOM_FAIL;
            }
            if ((gfp & Gfp.__GFP_FS) == 0) {
                return MAY_OOM_PROGRESS;
            }
        }
        hooks.outOfMemoryRetry(t, gfp, order);
        oomThrottle.throttle(kernel.jiffiesToNanos(OOM_SLEEP_JIFFIES));
        return MAY_OOM_PROGRESS;
    }

    /**
     * __perform_reclaim(): tells lockdep the task reclaims for {@code gfp} (fs_reclaim held, or the RECLAIM_FS
     * reclaim state, by version), so every lock reclaim takes is recorded as taken in reclaim, and runs
     * with PF_MEMALLOC (no recursion). Counted as an allocstall.
     */
    private long directReclaim(Task t, int gfp, int order) {
        int cpu = t.getCpu();
        vmstat.inc(cpu, VmStatItem.ALLOCSTALL_NORMAL);
        t.putCpu();
        lockdep.reclaimEnter(t, gfp);
        ReclaimEvent ev = new ReclaimEvent();
        ev.begin();
        long progress = 0;
        try {
            int saved = SchedMm.memallocNoreclaimSave();
            try {
                progress = hooks.tryToFreePages(gfp, order);
                return progress;
            } finally {
                SchedMm.memallocNoreclaimRestore(saved);
            }
        } finally {
            lockdep.reclaimExit(t, gfp);
            ev.end();
            if (ev.shouldCommit()) {
                ev.commit(t.toString(), "direct", Gfp.formatMode(gfp), order, progress);
            }
        }
    }

    private int fail(Task t, int gfp, int order, AllocFailure.Reason reason) {
        t.recordAllocFailure(gfp, order, reason.ordinal());
        return NO_PFN;
    }

    // ---------------------------------------------------------------- freeing

    /**
     * __free_pages(): drops a reference to the block headed by {@code pfn}; frees it when that was the last.
     * Throws, naming the page, for a pfn outside memory, a page that is not the head of an allocation of
     * {@code order}, a page already free, and a slab or large-kmalloc page (those belong to their allocator:
     * kfree() and kmem_cache_free() give them back). A last reference to a page that is still locked,
     * under writeback or in a page cache is refused as free_pages_check() refuses it ("Bad page state"),
     * and the reference stays.
     */
    public void freePages(int pfn, int order) {
        checkAllocated(pfn, order, "freePages");
        PageChecks.checkNotAllocatorOwned(map, pfn, "freePages");
        putPageTestzero(pfn, order, "freePages");
    }

    /** __free_pages() for the allocators' own pages (slabs, large kmallocs), already checked. */
    void freePagesInternal(int pfn, int order) {
        int ref = map.addRefcount(pfn, -1);
        if (ref == 0) {
            freeUnrefPages(pfn, order);
        } else if (ref < 0) {
            map.addRefcount(pfn, 1);
            throw new IllegalStateException("freePages(pfn " + pfn + ", order " + order
                    + "): refcount underflow (concurrent double free?)");
        }
    }

    private void putPageTestzero(int pfn, int order, String who) {
        int ref = map.addRefcount(pfn, -1);
        if (ref > 0) {
            return;
        }
        if (ref < 0) {
            map.addRefcount(pfn, 1);
            throw new IllegalStateException(who + "(pfn " + pfn + ", order " + order
                    + "): refcount underflow (concurrent double free?)");
        }
        String bad = PageChecks.freePagesCheck(map, pfn);
        if (bad != null) {
            map.addRefcount(pfn, 1);
            throw new IllegalStateException("BUG: Bad page state in " + who + ": pfn " + pfn + " " + bad + " (flags: "
                    + PageFlags.format(map.flags(pfn)) + "); the last reference stays with the caller");
        }
        freeUnrefPages(pfn, order);
    }

    /** free_pages(): as {@link #freePages} for a kernel address returned by {@link #getFreePages}. */
    public void freePagesAddr(long addr, int order) {
        int pfn = mem.virtToPfn(addr);
        if ((addr & (PhysMem.PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException(String.format("free_pages(0x%x, %d): address is not page aligned",
                    addr, order));
        }
        freePages(pfn, order);
    }

    /** get_page(): another reference to an allocated page (not a slab or large-kmalloc page). */
    public void getPage(int pfn) {
        mem.checkPfn(pfn, "getPage");
        checkAllocated(pfn, map.order(pfn), "getPage");
        PageChecks.checkNotAllocatorOwned(map, pfn, "getPage");
        map.addRefcount(pfn, 1);
    }

    /** put_page(): drops a reference; the last one frees the block. */
    public void putPage(int pfn) {
        mem.checkPfn(pfn, "putPage");
        int order = map.order(pfn);
        checkAllocated(pfn, order, "putPage");
        PageChecks.checkNotAllocatorOwned(map, pfn, "putPage");
        putPageTestzero(pfn, order, "putPage");
    }

    /**
     * put_page() for a reference taken speculatively with get_page_unless_zero() on a pfn read without a
     * lock (a page-cache lookup racing with truncation and reuse): by then the page may be anyone's, a slab
     * page included, which keeps its count above ours; if ours was the last, the owner freed it meanwhile
     * and this frees it, as the kernel's put_page() would.
     */
    void putPageSpeculative(int pfn) {
        int ref = map.addRefcount(pfn, -1);
        if (ref > 0) {
            return;
        }
        if (ref < 0) {
            map.addRefcount(pfn, 1);
            throw new IllegalStateException("put_page(pfn " + pfn + "): refcount underflow after a speculative get");
        }
        freeUnrefPages(pfn, map.order(pfn));
    }

    public int pageCount(int pfn) {
        mem.checkPfn(pfn, "pageCount");
        return map.refcount(pfn);
    }

    /**
     * Throws unless {@code pfn} is a page of a live allocation: the head of one with a reference, or one of
     * its tail pages. What a device checks before it moves data into a bio's pages.
     */
    public void checkPageInUse(int pfn, String who) {
        PageChecks.checkPageInUse(mem, map, pfn, who);
    }

    void checkAllocated(int pfn, int order, String who) {
        mem.checkPfn(pfn, who);
        checkOrder(order, who);
        int st = map.state(pfn);
        if (st == STATE_ALLOC && map.order(pfn) == order && map.refcount(pfn) > 0) {
            return;
        }
        String why;
        switch (st) {
            case STATE_BUDDY:
            case STATE_PCP:
            case STATE_NONE:
                why = "the page is free (double free?)";
                break;
            case STATE_TAIL:
                why = "it is a tail page of the order-" + map.order(map.compoundHead(pfn)) + " block at pfn "
                        + map.compoundHead(pfn);
                break;
            default:
                why = map.order(pfn) != order ? "it was allocated with order " + map.order(pfn)
                        : "its refcount is " + map.refcount(pfn);
        }
        throw new IllegalArgumentException(who + "(pfn " + pfn + ", order " + order + "): " + why);
    }

    private static void checkOrder(int order, String who) {
        if (order < 0 || order > MAX_PAGE_ORDER) {
            throw new IllegalArgumentException(who + ": order " + order + " is outside [0, " + MAX_PAGE_ORDER + "]");
        }
    }

    /** free_unref_page() for order 0, __free_pages_ok() otherwise. */
    void freeUnrefPages(int pfn, int order) {
        if (lru != null && map.testFlag(pfn, PageFlags.PG_lru)) {
            // __page_cache_release(): the last reference to a page still on the LRU.
            lru.delFromLru(pfn);
        }
        int n = 1 << order;
        for (int i = 1; i < n; i++) {
            map.setState(pfn + i, STATE_NONE);
            map.setCompoundHead(pfn + i, pfn + i);
        }
        map.setFlagsPlain(pfn, 0);
        map.setCompoundHead(pfn, pfn);
        Task t = kernel.currentTask();
        int cpu = t.getCpu();
        try {
            vmstat.mod(cpu, VmStatItem.PGFREE, n);
            if (order == 0 && legacy == null) {
                int ci = (cpu + 1) * PCP_PAD;
                int count = pcpCount[ci];
                map.setState(pfn, STATE_PCP);
                pcpPages[cpu * pcpCap + count++] = pfn;
                pcpCount[ci] = count;
                if (count >= pcpHigh) {
                    freePcppagesBulk(cpu, pcpBatch);
                }
                return;
            }
            map.setState(pfn, STATE_NONE);
            zoneLock.lock();
            try {
                freeOnePage(pfn, order);
                nrFreePages += n;
                resetPagesScanned();
            } finally {
                zoneLock.unlock();
            }
        } finally {
            t.putCpu();
        }
    }

    /** free_pcppages_bulk() and free_one_page() clear zone->pages_scanned: the zone gave memory back. */
    private void resetPagesScanned() {
        if (pagesScanned.get() != 0) {
            pagesScanned.set(0);
        }
    }

    /** shrink_inactive_list() under global reclaim: zone->pages_scanned += nr_scanned. */
    void addPagesScanned(long n) {
        pagesScanned.addAndGet(n);
    }

    /**
     * zone_reclaimable() (3.12 to 4.x): reclaim has not yet scanned six times the zone's reclaimable pages
     * without the zone freeing a page.
     */
    boolean zoneReclaimable(long reclaimablePages) {
        return pagesScanned.get() < reclaimablePages * 6;
    }

    /** free_pcppages_bulk(): returns the {@code count} coldest pages of {@code cpu}'s list to the buddy. */
    private void freePcppagesBulk(int cpu, int count) {
        int ci = (cpu + 1) * PCP_PAD;
        int have = pcpCount[ci];
        int k = Math.min(count, have);
        if (k == 0) {
            return;
        }
        int base = cpu * pcpCap;
        zoneLock.lock();
        try {
            for (int i = 0; i < k; i++) {
                int pfn = pcpPages[base + i];
                map.setState(pfn, STATE_NONE);
                freeOnePage(pfn, 0);
            }
            nrFreePages += k;
            resetPagesScanned();
        } finally {
            zoneLock.unlock();
        }
        System.arraycopy(pcpPages, base + k, pcpPages, base, have - k);
        pcpCount[ci] = have - k;
    }

    /** __free_one_page(): merges with free buddies as far as they go. zone->lock held. */
    private void freeOnePage(int pfn, int order) {
        int n = mem.nrPages();
        while (order < MAX_PAGE_ORDER) {
            int buddy = pfn ^ (1 << order);
            if (buddy >= n || map.state(buddy) != STATE_BUDDY || map.order(buddy) != order) {
                break;
            }
            delFromFreeList(buddy, order);
            map.setState(buddy, STATE_NONE);
            pfn &= buddy;
            order++;
        }
        addToFreeList(pfn, order);
    }

    /** drain_all_pages(): every CPU's list back to the buddy, each drained while holding that CPU. */
    public void drainAllPages() {
        Task t = kernel.currentTask();
        mem.checkAlive("drainAllPages");
        for (int c = 0; c < kernel.nrCpus(); c++) {
            int cpu = c;
            t.runOnCpu(cpu, () -> freePcppagesBulk(cpu, pcpCount[(cpu + 1) * PCP_PAD]));
        }
    }

    // ---------------------------------------------------------------- free lists (zone->lock held)

    private void addToFreeList(int pfn, int order) {
        int head = freeHead[order];
        map.setLruPrev(pfn, NO_PFN);
        map.setLruNext(pfn, head);
        if (head != NO_PFN) {
            map.setLruPrev(head, pfn);
        }
        freeHead[order] = pfn;
        map.setOrder(pfn, order);
        map.setState(pfn, STATE_BUDDY);
        nrFree[order]++;
    }

    private void delFromFreeList(int pfn, int order) {
        int prev = map.lruPrev(pfn);
        int next = map.lruNext(pfn);
        if (prev == NO_PFN) {
            freeHead[order] = next;
        } else {
            map.setLruNext(prev, next);
        }
        if (next != NO_PFN) {
            map.setLruPrev(next, prev);
        }
        map.setLruNext(pfn, NO_PFN);
        map.setLruPrev(pfn, NO_PFN);
        nrFree[order]--;
    }

    /**
     * is_free_buddy_page(), telling the order: the order of the buddy free block that holds {@code pfn}, or
     * -1 when the page is allocated or on a per-CPU list. Read-only, under zone->lock. Throws when that
     * block's buddy is a free block of the same order: __free_one_page() must have merged the two.
     */
    public int freeBlockOrderContaining(int pfn) {
        mem.checkPfn(pfn, "freeBlockOrderContaining");
        zoneLock.lock();
        try {
            for (int o = 0; o < NR_PAGE_ORDERS; o++) {
                int head = pfn & -(1 << o);
                if (map.state(head) != STATE_BUDDY || map.order(head) < o) {
                    continue;
                }
                int order = map.order(head);
                int buddy = head ^ (1 << order);
                if (order < MAX_PAGE_ORDER && buddy < mem.nrPages() && map.state(buddy) == STATE_BUDDY
                        && map.order(buddy) == order) {
                    throw new IllegalStateException(String.format("BUG: free order-%d blocks at pfn %d and %d are"
                            + " buddies but were not merged", order, head, buddy));
                }
                return order;
            }
            return -1;
        } finally {
            zoneLock.unlock();
        }
    }

    /**
     * Cross-checks the free area under zone->lock: the pages the free lists count, sum(nr_free[order] <<
     * order), must be NR_FREE_PAGES. Read-only. Returns null when they agree, else both numbers.
     */
    public String checkFreeArea() {
        zoneLock.lock();
        try {
            long listed = 0;
            for (int o = 0; o < NR_PAGE_ORDERS; o++) {
                listed += nrFree[o] << o;
            }
            return listed == nrFreePages ? null
                    : "free area: the free lists hold " + listed + " pages but nr_free_pages is " + nrFreePages;
        } finally {
            zoneLock.unlock();
        }
    }

    /** /proc/buddyinfo's line for this zone. */
    public String buddyinfo() {
        StringBuilder sb = new StringBuilder("Node 0, zone   Normal ");
        zoneLock.lock();
        try {
            for (int o = 0; o < NR_PAGE_ORDERS; o++) {
                sb.append(String.format("%7d", nrFree[o]));
            }
        } finally {
            zoneLock.unlock();
        }
        return sb.append('\n').toString();
    }
}
