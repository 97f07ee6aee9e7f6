package dev.reclaimlab.swap;

import dev.reclaimlab.block.request.Blk22;
import dev.reclaimlab.block.request.BlockDriver22;
import dev.reclaimlab.fs.buffer.BufferCache;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.mm.PageAlloc;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.mm.ReclaimHooks;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The Linux 2.2 memory world of one kernel booted as 2.2 (no {@link PageAlloc#ZONE_ALLOCATOR}): struct
 * page's 2.2 fields for every page, the page cache and the swap cache, the buffer cache and the request
 * layer under it, the processes whose mappings swap_out() walks, kswapd, bdflush and update, and, by
 * switch, kswiod (Tweedie's proposal) or kpiod (2.2.2-pre2). It installs 2.2's try_to_free_pages() as the
 * kernel's reclaim through {@link PageAlloc#setReclaimHooks}, so every allocation of this kernel, the
 * slab's included, reclaims as 2.2 did.
 */
public final class Mm22 {
    private final Kernel kernel;
    private final PageAlloc pa;
    private final PhysMem mem;
    private final Page22[] pages;
    private final Blk22 blk;
    private final BufferCache buffers;
    private final PageCache pageCache;
    private final SwapState swap;
    private final PageIo pageIo;
    private final Memory22 memory;
    private final ShrinkMmap shrinkMmap;
    private final Vmscan22 vmscan;
    private final Kswapd22 kswapd;
    private final Kswiod kswiod;
    private final Kpiod kpiod;
    private final List<Process22> processes = new CopyOnWriteArrayList<>();

    private Mm22(Kernel kernel) {
        if (kernel.config().has(PageAlloc.ZONE_ALLOCATOR)) {
            throw new IllegalArgumentException("Mm22 needs a kernel booted as 2.2 (without zone_allocator), not "
                    + kernel.config().version());
        }
        boolean kswiodOn = kernel.config().has(Kswiod.KSWIOD_PAGE_IO);
        boolean kpiodOn = kernel.config().has(Kpiod.KPIOD);
        if (kswiodOn && kpiodOn) {
            throw new IllegalArgumentException("kswiod_page_io and kpiod are two answers to one question: pick one");
        }
        this.kernel = kernel;
        this.pa = kernel.mm().pageAlloc();
        this.mem = kernel.mm().mem();
        this.pages = new Page22[mem.nrPages()];
        for (int i = 0; i < pages.length; i++) {
            pages[i] = new Page22(this, i);
        }
        this.blk = new Blk22(kernel);
        this.pageCache = new PageCache(this);
        this.swap = new SwapState(this);
        this.buffers = new BufferCache(this);
        this.pageIo = new PageIo(this);
        this.memory = new Memory22(this);
        this.shrinkMmap = new ShrinkMmap(this);
        this.kswapd = new Kswapd22(this);
        this.vmscan = new Vmscan22(this);
        this.kswiod = kswiodOn ? new Kswiod(this) : null;
        this.kpiod = kpiodOn ? new Kpiod(this) : null;
    }

    /** Builds the 2.2 world on {@code kernel}, installs its reclaim and starts its daemons. */
    public static Mm22 boot(Kernel kernel) {
        kernel.currentTask();
        Mm22 m = new Mm22(kernel);
        m.pa.setReclaimHooks(new ReclaimHooks() {
            @Override
            public void wakeupKswapd(int order, int gfp) {
                // 2.2 wakes kswapd from try_to_free_pages() only.
            }

            @Override
            public long tryToFreePages(int gfp, int order) {
                return m.vmscan.tryToFreePages(gfp);
            }
        });
        if (m.kpiod != null) {
            m.kpiod.start();
        }
        m.buffers.start();
        m.kswapd.start();
        if (m.kswiod != null) {
            m.kswiod.start();
        }
        return m;
    }

    public Kernel kernel() {
        return kernel;
    }

    public PageAlloc pageAlloc() {
        return pa;
    }

    public PhysMem mem() {
        return mem;
    }

    public Blk22 blk() {
        return blk;
    }

    public BufferCache buffers() {
        return buffers;
    }

    public PageCache pageCache() {
        return pageCache;
    }

    public SwapState swap() {
        return swap;
    }

    public PageIo pageIo() {
        return pageIo;
    }

    /** mm/memory.c: mappings, faults and user copies of this kernel's processes. */
    public Memory22 memory() {
        return memory;
    }

    public Vmscan22 vmscan() {
        return vmscan;
    }

    ShrinkMmap shrinkMmapper() {
        return shrinkMmap;
    }

    Kswapd22 kswapdDaemon() {
        return kswapd;
    }

    /** kswiod, when {@link Kswiod#KSWIOD_PAGE_IO} is on; else null. */
    public Kswiod kswiod() {
        return kswiod;
    }

    /** kpiod, when {@link Kpiod#KPIOD} is on; else null. */
    public Kpiod kpiod() {
        return kpiod;
    }

    public Task kswapdTask() {
        return kswapd.task();
    }

    /** swapon(): the swap area on {@code dev}. */
    public void swapon(BlockDriver22 dev) {
        swap.swapon(dev);
    }

    /** The 2.2 struct page of {@code pfn}. */
    public Page22 page(int pfn) {
        if (pfn < 0 || pfn >= pages.length) {
            throw new IllegalArgumentException("page(" + pfn + "): pfn outside the kernel's " + pages.length + " pages");
        }
        return pages[pfn];
    }

    int nrPages() {
        return pages.length;
    }

    Page22 pageUnchecked(int pfn) {
        return pages[pfn];
    }

    /** __get_free_page(gfp): a page with count 1 and no 2.2 state, or -1. */
    public int getFreePage(int gfp) {
        int pfn = pa.allocPages(gfp, 0);
        if (pfn != PageAlloc.NULL_PAGE) {
            pages[pfn].reset();
        }
        return pfn;
    }

    /** __free_page(): drops a reference. Freeing the swap cache's last reference is 2.2's panic. */
    public void freePage(int pfn) {
        Page22 p = page(pfn);
        if (p.swapCache() && pa.pageCount(pfn) == 1) {
            throw new IllegalStateException("Freeing swap cache page " + p);
        }
        pa.putPage(pfn);
    }

    /** atomic_inc(&page->count). */
    public void getPage(int pfn) {
        pa.getPage(pfn);
    }

    public int pageCount(int pfn) {
        return pa.pageCount(pfn);
    }

    /** num_physpages. */
    public int numPhyspages() {
        return pages.length;
    }

    // Processes, as for_each_task() sees those with an mm.

    void register(Process22 p) {
        processes.add(p);
    }

    void unregister(Process22 p) {
        processes.remove(p);
    }

    List<Process22> processes() {
        return processes;
    }

    /** nr_tasks: every task, kernel threads included, as 2.2 counts them. */
    int nrTasks() {
        return kernel.tasks().size();
    }

    /** One line of 2.2 counters for progress displays. */
    public String stats() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("free %d (min %d high %d%s) pgcache %d buffers %d dirty %d swapcache %d pswpout %d"
                        + " pswpin %d async %d sync-swapouts %d",
                pa.nrFreePages(), pa.freepagesMin(), pa.freepagesHigh(), pa.lowOnMemory() ? " low" : "",
                pageCache.pageCacheSize(), buffers.bufferPages(), buffers.nrDirty(), swap.swapCachePages(),
                pageIo.pswpout(), pageIo.pswpin(), pageIo.nrAsyncPages(), pageIo.forcedSync()));
        sb.append(String.format(" filemap-swapouts %d getblk-waits %d", vmscan.filemapSwapouts(),
                buffers.growFailures()));
        if (kswiod != null) {
            sb.append(String.format(" kswiod queued %d done %d", kswiod.queued(), kswiod.done()));
        }
        if (kpiod != null) {
            sb.append(String.format(" kpiod queue %d (max %d) written %d", kpiod.nrPioRequest(), kpiod.maxPioRequest(),
                    kpiod.written()));
        }
        return sb.toString();
    }
}
