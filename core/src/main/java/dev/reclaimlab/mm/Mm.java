package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Jiffies;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.RawSpinLock;
import dev.reclaimlab.locking.Throttle;

import java.util.List;

/**
 * The kernel's memory (mm_init()): physical pages and mem_map off-heap, the buddy zone with per-CPU
 * lists, the slab caches with kmalloc, and their counters. Entry points carry the kernel's names.
 */
public final class Mm {
    private final Kernel kernel;
    private final OffHeap offHeap = new OffHeap();
    private final PhysMem mem;
    private final MemMap map;
    private final PageAlloc pageAlloc;
    private final VmStat vmstat;
    private final Slub slub;
    private final KmallocCaches kmalloc;
    private final KmemCache radixTreeNodeCache;
    private final RadixTreePreload radixTreePreload;
    private final Readahead readahead;
    private final Workingset workingset;
    private final ShrinkerList shrinkers = new ShrinkerList();
    private final ShrinkerList.SlabsScannedCounter slabsScanned = n -> countEvent(VmStatItem.SLABS_SCANNED, n);
    private final Lru lru;
    private final Filemap filemap;
    private final Vmscan vmscan;
    private final Kswapd kswapd;
    private final Writeback writeback;
    private final Oom oom;
    private final RawSpinLock mappingsLock = new RawSpinLock("mappings");
    private volatile AddressSpace[] mappings = new AddressSpace[64];
    private int nextMappingId = 1;
    /** HZ/50: the allocator's nap before it retries. */
    static final long ALLOC_RETRY_WAIT_JIFFIES = Jiffies.HZ / 50;
    private final Throttle allocRetryThrottle = new Throttle("wait_iff_congested (__alloc_pages_slowpath)");
    private final BackingDev backingDev;
    private final ZoneFlags zoneFlags = new ZoneFlags();
    private final BackingDevInfo noopBdi;
    private final java.util.List<BackingDevInfo> bdis = new java.util.concurrent.CopyOnWriteArrayList<>();

    public Mm(Kernel kernel) {
        this.kernel = kernel;
        this.backingDev = new BackingDev(kernel);
        this.noopBdi = new BackingDevInfo("noop", backingDev);
        bdis.add(noopBdi);
        this.mem = new PhysMem(kernel.config().memoryBytes(), offHeap);
        try {
            this.map = new MemMap(mem.nrPages(), offHeap);
        } catch (RuntimeException | Error e) {
            mem.release();
            throw e;
        }
        // In dependency order: the counters and the LRU lists before the allocator that updates them, the
        // allocator before the slab, the slab before the page cache's tree nodes, reclaim last.
        this.vmstat = new VmStat(kernel.nrCpus());
        this.lru = new Lru(this, map);
        this.pageAlloc = new PageAlloc(kernel, mem, map, vmstat, lru);
        vmstat.setGauge(VmStatItem.NR_FREE_PAGES, pageAlloc::nrFreePages);
        this.slub = new Slub(kernel, mem, map, pageAlloc, vmstat);
        this.kmalloc = new KmallocCaches(kernel, mem, map, pageAlloc, slub);
        // radix_tree_init(): one cache for every page cache index in this kernel.
        this.radixTreeNodeCache = slub.kmemCacheCreateBoot("radix_tree_node", XArray.NODE_SIZE, 0,
                SlabFlags.SLAB_RECLAIM_ACCOUNT | SlabFlags.SLAB_PANIC);
        this.radixTreePreload = new RadixTreePreload(kernel, this, radixTreeNodeCache);
        this.workingset = new Workingset(this);
        shrinkers.registerShrinker(workingset.shrinker());
        vmstat.setGauge(VmStatItem.NR_INACTIVE_FILE, () -> lru.size(Lru.LRU_INACTIVE_FILE));
        vmstat.setGauge(VmStatItem.NR_ACTIVE_FILE, () -> lru.size(Lru.LRU_ACTIVE_FILE));
        vmstat.setGauge(VmStatItem.NR_ISOLATED_FILE, lru::isolated);
        this.filemap = new Filemap(kernel, this, map, new PageWait(kernel, map), lru);
        this.readahead = new Readahead(kernel, this, map, filemap);
        this.vmscan = new Vmscan(kernel, this, map, lru, filemap);
        this.kswapd = new Kswapd(kernel, this, pageAlloc, vmscan);
        this.writeback = new Writeback(kernel, this);
        this.oom = new Oom(kernel, this);
        pageAlloc.setReclaimHooks(new ReclaimHooks() {
            @Override
            public void wakeupKswapd(int order, int gfp) {
                kswapd.wakeupKswapd(order, gfp);
            }

            @Override
            public long tryToFreePages(int gfp, int order) {
                long progress = vmscan.tryToFreePages(gfp, order);
                if (progress > 0) {
                    kswapd.resetFailures();
                }
                return progress;
            }

            @Override
            public void allocRetryWait(int gfp, int order) {
                if (!kernel.config().has(Vmscan.EMULATED_43_THROTTLE)) {
                    backingDev.waitIffCongested(zoneFlags, BackingDev.BLK_RW_ASYNC, ALLOC_RETRY_WAIT_JIFFIES,
                            allocRetryThrottle);
                }
            }

            @Override
            public void outOfMemory(Task t, int gfp, int order) {
                oom.outOfMemoryAndFail(t, gfp, order);
            }

            @Override
            public void outOfMemoryRetry(Task t, int gfp, int order) {
                oom.outOfMemoryRatelimited(t, gfp, order);
            }
        });
    }

    /**
     * Starts kswapd0 and the flusher; Kernel.boot() calls it once the kernel is built. A kernel without the
     * zone allocator (2.2) starts neither: its kswapd and bdflush belong to the 2.2 memory world that
     * installs its own reclaim with {@link PageAlloc#setReclaimHooks}.
     */
    public void start() {
        if (!kernel.config().has(PageAlloc.ZONE_ALLOCATOR)) {
            return;
        }
        if (kernel.config().kswapd()) {
            kswapd.start();
        }
        writeback.start();
    }

    public Kernel kernel() {
        return kernel;
    }

    public PhysMem mem() {
        return mem;
    }

    /** Page reclaim, for white-box tests in this package. */
    Vmscan vmscan() {
        return vmscan;
    }

    /** mem_map, for white-box tests in this package. */
    MemMap memMap() {
        return map;
    }

    public PageAlloc pageAlloc() {
        return pageAlloc;
    }

    public Slub slub() {
        return slub;
    }

    public KmallocCaches kmallocCaches() {
        return kmalloc;
    }

    /** radix_tree_node_cachep: the nodes of every {@link XArray} in this kernel. */
    public KmemCache radixTreeNodeCache() {
        return radixTreeNodeCache;
    }

    /** radix_tree_preloads: the per-CPU spare nodes page-cache inserts take. */
    public RadixTreePreload radixTreePreload() {
        return radixTreePreload;
    }

    /** mm/workingset.c: shadow entries and the shadow-node shrinker. */
    public Workingset workingset() {
        return workingset;
    }

    /** mm/readahead.c. */
    public Readahead readahead() {
        return readahead;
    }

    public VmStat vmstat() {
        return vmstat;
    }

    // The entry points most callers want, by their kernel names.

    public int allocPages(int gfp, int order) {
        return pageAlloc.allocPages(gfp, order);
    }

    public void freePages(int page, int order) {
        pageAlloc.freePages(page, order);
    }

    public long pageAddress(int page) {
        return mem.pageAddress(page);
    }

    public long kmalloc(long size, int gfp) {
        return kmalloc.kmalloc(size, gfp);
    }

    public long kzalloc(long size, int gfp) {
        return kmalloc.kmalloc(size, gfp | Gfp.__GFP_ZERO);
    }

    public void kfree(long addr) {
        kmalloc.kfree(addr);
    }

    public KmemCache kmemCacheCreate(String name, int size, int align, int flags) {
        return slub.kmemCacheCreate(name, size, align, flags);
    }

    public long kmemCacheAlloc(KmemCache s, int gfp) {
        return slub.kmemCacheAlloc(s, gfp);
    }

    public void kmemCacheFree(KmemCache s, long addr) {
        slub.kmemCacheFree(s, addr);
    }

    public Filemap filemap() {
        return filemap;
    }

    public Writeback writeback() {
        return writeback;
    }

    /** kswapd0's task, once started. */
    public Task kswapdTask() {
        return kswapd.task();
    }

    /** How often the allocator woke kswapd. */
    public long kswapdWakeups() {
        return kswapd.wakeups();
    }

    /** How often the allocator invoked the OOM killer (which in the emulator has nobody to kill). */
    public long oomInvocations() {
        return oom.invocations();
    }

    /** How often reclaimers were throttled (too many isolated pages, or a batch all under writeback). */
    public long reclaimThrottled() {
        return vmscan.throttled();
    }

    /** try_to_free_pages() as the allocator calls it, for tests and tools that reclaim by hand. */
    public long tryToFreePages(int gfp) {
        Gfp.check(gfp, "tryToFreePages");
        mem.checkAlive("tryToFreePages");
        return vmscan.tryToFreePages(gfp, 0);
    }

    /** bdi_alloc() + bdi_register(): the writeback accounting of one device. */
    public BackingDevInfo bdiCreate(String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("bdiCreate: a name is required");
        }
        BackingDevInfo b = new BackingDevInfo(name, backingDev);
        bdis.add(b);
        return b;
    }

    /** mm/backing-dev.c: bdi congestion, congestion_wait() and wait_iff_congested(). */
    public BackingDev backingDev() {
        return backingDev;
    }

    /** zone->flags of the one zone (ZONE_CONGESTED, ZONE_TAIL_LRU_DIRTY, ZONE_WRITEBACK). */
    /** What reclaim's batches met (dirty, congested, reclaimed pages), for kswapd and direct reclaim. */
    public ShrinkStats shrinkStats() {
        return vmscan.shrinkStats();
    }

    public ZoneFlags zoneFlags() {
        return zoneFlags;
    }

    /**
     * inc_zone_page_state(page, item) for the one item a filesystem accounts itself: NR_UNSTABLE_NFS, a page
     * the server holds but has not committed (the NFS client, on an UNSTABLE WRITE reply). {@code pfn}
     * must be an allocated page.
     */
    public void incZonePageState(int pfn, VmStatItem item) {
        checkFsItem(pfn, item, "inc_zone_page_state");
        modState(item, 1);
    }

    /** dec_zone_page_state(page, NR_UNSTABLE_NFS) (a COMMIT reply, or a rewrite before the commit). */
    public void decZonePageState(int pfn, VmStatItem item) {
        checkFsItem(pfn, item, "dec_zone_page_state");
        if (vmstat.get(item) <= 0) {
            throw new IllegalStateException("dec_zone_page_state(pfn " + pfn + ", " + item.procName()
                    + "): the count is already 0");
        }
        modState(item, -1);
    }

    private void checkFsItem(int pfn, VmStatItem item, String who) {
        if (item != VmStatItem.NR_UNSTABLE_NFS) {
            throw new IllegalArgumentException(who + "(pfn " + pfn + ", " + item + "): only NR_UNSTABLE_NFS is"
                    + " accounted by filesystems; mm keeps the others");
        }
        mem.checkAlive(who);
        pageAlloc.checkPageInUse(pfn, who);
    }

    /** noop_backing_dev_info: what a cache writes to until its filesystem says otherwise. */
    public BackingDevInfo noopBdi() {
        return noopBdi;
    }

    java.util.List<BackingDevInfo> bdis() {
        return bdis;
    }

    /** A new inode's page cache (inode_init_always()'s mapping set-up). */
    public AddressSpace addressSpaceCreate(String host, AddressSpaceOperations aops) {
        if (host == null || aops == null) {
            throw new IllegalArgumentException("addressSpaceCreate: host and aops are required");
        }
        if (mem.released()) {
            mem.checkAlive("addressSpaceCreate(" + host + ")");
        }
        mappingsLock.lock();
        try {
            int id = nextMappingId++;
            AddressSpace m = new AddressSpace(this, id, host, aops);
            AddressSpace[] ms = mappings;
            if (id >= ms.length) {
                ms = java.util.Arrays.copyOf(ms, ms.length * 2);
            }
            ms[id] = m;
            mappings = ms;
            return m;
        } finally {
            mappingsLock.unlock();
        }
    }

    /** evict(): truncates the cache, frees its index and forgets the mapping. */
    public void addressSpaceDestroy(AddressSpace m) {
        if (m == null || m.mm != this) {
            throw new IllegalArgumentException("addressSpaceDestroy(" + m + "): "
                    + (m == null ? "mapping is null" : "the mapping belongs to another kernel"));
        }
        if (mem.released()) {
            mem.checkAlive("addressSpaceDestroy(" + m + ")");
        }
        if (m.destroyed()) {
            throw new IllegalStateException("addressSpaceDestroy(" + m + "): already destroyed");
        }
        m.setExiting();
        m.waitForWriteback(writeback.flusher());
        filemap.truncateInodePages(m, 0);
        m.markDestroyed();
        writeback.forget(m);
        m.pages.xaDestroy();
        mappingsLock.lock();
        try {
            mappings[m.id] = null;
        } finally {
            mappingsLock.unlock();
        }
    }

    AddressSpace mappingById(int id) {
        AddressSpace[] ms = mappings;
        return id > 0 && id < ms.length ? ms[id] : null;
    }

    /** __mod_node_page_state() from any context. */
    void modState(VmStatItem item, long delta) {
        Task t = kernel.currentTask();
        int cpu = t.getCpu();
        vmstat.mod(cpu, item, delta);
        t.putCpu();
    }

    /** count_vm_events() from any context. */
    void countEvent(VmStatItem item, long n) {
        modState(item, n);
    }

    /** The registered shrinkers (register_shrinker()/unregister_shrinker()). */
    public ShrinkerList shrinkers() {
        return shrinkers;
    }

    /** shrink_slab(): asks every shrinker for objects back; counts slabs_scanned. */
    public long shrinkSlab(int gfp, int priority) {
        Gfp.check(gfp, "shrinkSlab");
        mem.checkAlive("shrinkSlab");
        return shrinkers.shrinkSlab(gfp, priority, slabsScanned);
    }

    /** shrink_slab() with the 4.3 kernel's pressure: {@code nrScanned} of {@code nrEligible} LRU pages. */
    long shrinkSlabProportional(int gfp, long nrScanned, long nrEligible) {
        return shrinkers.shrinkSlabProportional(gfp, nrScanned, nrEligible, slabsScanned);
    }

    /** SLUB debug reports made so far (double frees, overwritten red zones and poison). */
    public List<String> slabReports() {
        return slub.debugger().reports();
    }

    /** /proc/meminfo, the lines this kernel has. */
    public String meminfo() {
        long kb = PhysMem.PAGE_SIZE / 1024;
        long free = pageAlloc.nrFreePages();
        long sRecl = vmstat.get(VmStatItem.NR_SLAB_RECLAIMABLE_B) >> 10;
        long sUnrecl = vmstat.get(VmStatItem.NR_SLAB_UNRECLAIMABLE_B) >> 10;
        long wmarkLow = pageAlloc.lowWmark();
        // si_mem_available(): free above the reserves plus the reclaimable part of what is in use.
        long reclaimable = sRecl / kb;
        long pagecache = vmstat.get(VmStatItem.NR_ACTIVE_FILE) + vmstat.get(VmStatItem.NR_INACTIVE_FILE);
        long available = Math.max(0, free - pageAlloc.highWmark() + pagecache - Math.min(pagecache / 2, wmarkLow)
                + reclaimable - Math.min(reclaimable / 2, wmarkLow));
        StringBuilder sb = new StringBuilder();
        line(sb, "MemTotal", pageAlloc.managedPages() * kb);
        line(sb, "MemFree", free * kb);
        line(sb, "MemAvailable", available * kb);
        line(sb, "Cached", vmstat.get(VmStatItem.NR_FILE_PAGES) * kb);
        line(sb, "Active(file)", vmstat.get(VmStatItem.NR_ACTIVE_FILE) * kb);
        line(sb, "Inactive(file)", vmstat.get(VmStatItem.NR_INACTIVE_FILE) * kb);
        line(sb, "Dirty", vmstat.get(VmStatItem.NR_DIRTY) * kb);
        line(sb, "Writeback", vmstat.get(VmStatItem.NR_WRITEBACK) * kb);
        line(sb, "NFS_Unstable", vmstat.get(VmStatItem.NR_UNSTABLE_NFS) * kb);
        line(sb, "Slab", sRecl + sUnrecl);
        line(sb, "SReclaimable", sRecl);
        line(sb, "SUnreclaim", sUnrecl);
        return sb.toString();
    }

    private static void line(StringBuilder sb, String name, long kb) {
        sb.append(String.format("%-16s%8d kB%n", name + ":", kb));
    }

    /** Native bytes this kernel holds (0 once it is closed). */
    public long offHeapBytes() {
        return offHeap.bytes();
    }

    /** Frees every off-heap byte; called by Kernel.close() once no task can touch memory. */
    public void release() {
        mem.release();
        map.release();
    }
}
