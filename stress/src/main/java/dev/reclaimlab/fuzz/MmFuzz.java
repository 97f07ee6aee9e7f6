package dev.reclaimlab.fuzz;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.mm.AddressSpace;
import dev.reclaimlab.mm.KmemCache;
import dev.reclaimlab.mm.PageAlloc;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The mm half of the fuzz on a quiet kernel: the page allocator, slab and kmalloc, PhysMem, the page cache
 * of two mappings with a RAM-backed aops, an XArray checked against a shadow map, and calls with another
 * kernel's caches and mappings, each group of operations in its own class over one shared model.
 */
final class MmFuzz extends MmContext {
    private final PageAllocOps pageAlloc;
    private final SlabOps slab;
    private final PhysMemOps physMem;
    private final PageStateOps pageState;
    private final PageCacheOps pageCache;
    private final MmMiscOps misc;

    MmFuzz(Harness h, SplittableRandom r, Kernel k, Kernel foreign) {
        super(h, r, k, foreign);
        this.pageAlloc = new PageAllocOps(this);
        this.slab = new SlabOps(this);
        this.physMem = new PhysMemOps(this);
        this.pageState = new PageStateOps(this);
        this.pageCache = new PageCacheOps(this);
        this.misc = new MmMiscOps(this);
    }

    void step() {
        int w = r.nextInt(100);
        if (w < 12) {
            pageAlloc.allocPages();
        } else if (w < 20) {
            pageAlloc.freePages();
        } else if (w < 23) {
            pageAlloc.getPutPage();
        } else if (w < 33) {
            slab.kmalloc();
        } else if (w < 41) {
            slab.kfree();
        } else if (w < 43) {
            slab.ksize();
        } else if (w < 45) {
            slab.cacheCreateDestroy();
        } else if (w < 51) {
            slab.cacheAllocFree();
        } else if (w < 58) {
            physMem.physMem();
        } else if (w < 70) {
            pageState.pageState();
        } else if (w < 82) {
            pageCache.pageCache();
        } else if (w < 90) {
            misc.xarray();
        } else if (w < 94) {
            misc.foreign();
        } else {
            misc.misc();
        }
    }

    /** Gives back everything the fuzz holds, then checks nothing leaked and the buddy lists coalesced. */
    void finish(FuzzStats stats) {
        for (Page p : new ArrayList<>(pages)) {
            if (p.locked) {
                fm.unlockPage(p.pfn);
            }
            if (p.writeback) {
                fm.endPageWriteback(p.pfn);
            }
            for (int i = p.refs; i > 0; i--) {
                mm.pageAlloc().putPage(p.pfn);
            }
        }
        pages.clear();
        byPfn.clear();
        List<String> frees = new ArrayList<>();
        java.util.Set<Long> seen = new java.util.HashSet<>();
        for (Obj o : objs) {
            if (!seen.add(o.addr)) {
                frees.add("the kernel handed out " + o + " twice");
                continue;
            }
            try {
                if (o.cache == null) {
                    mm.kfree(o.addr);
                } else {
                    mm.kmemCacheFree(o.cache, o.addr);
                }
            } catch (RuntimeException e) {
                frees.add(o + ": " + FuzzStats.oneLine(e.getMessage()).substring(0, Math.min(200,
                        FuzzStats.oneLine(e.getMessage()).length())));
            }
        }
        stats.integrity(frees.isEmpty(), "mm: every object the fuzz held freed once" + (frees.isEmpty() ? ""
                : ": " + frees.size() + " failed, first " + frees.get(0)));
        objs.clear();
        for (KmemCache c : caches) {
            try {
                mm.slub().kmemCacheDestroy(c);
            } catch (RuntimeException e) {
                stats.integrity(false, "mm: kmem_cache_destroy(" + c + "): " + FuzzStats.oneLine(e.getMessage()));
            }
        }
        misc.destroy();
        for (AddressSpace m : mappings) {
            mm.addressSpaceDestroy(m);
        }
        // The page cache's per-CPU radix tree preloads keep spare nodes allocated; CPU_DEAD gives them back.
        for (int cpu = 0; cpu < k.nrCpus(); cpu++) {
            mm.radixTreePreload().radixTreeCpuDead(cpu);
        }
        List<String> problems = new ArrayList<>();
        for (KmemCache c : mm.slub().caches()) {
            List<String> reports = mm.slub().kmemCacheValidate(c);
            if (!reports.isEmpty()) {
                problems.add(c.name() + ": " + reports.get(0));
            }
            if (c.activeObjects() != 0) {
                problems.add(c.name() + ": " + c.activeObjects() + " objects still allocated");
            }
        }
        stats.integrity(problems.isEmpty(), "mm: kmemCacheValidate clean and no object left in any of "
                + mm.slub().caches().size() + " caches" + (problems.isEmpty() ? "" : ": " + problems));
        mm.slub().shrinkAllCaches();
        mm.pageAlloc().drainAllPages();
        PageAlloc pa = mm.pageAlloc();
        long free = pa.nrFreePages();
        long blocks = pa.nrFreeBlocks(PageAlloc.MAX_PAGE_ORDER);
        boolean ok = free == pa.managedPages() && blocks == pa.managedPages() >> PageAlloc.MAX_PAGE_ORDER
                && pa.checkFreeArea() == null;
        stats.integrity(ok, "mm: every page back and coalesced: " + free + " of " + pa.managedPages()
                + " pages free in " + blocks + " order-" + PageAlloc.MAX_PAGE_ORDER + " blocks");
        stats.integrity(k.oopses().isEmpty(), "mm: no oops in a kernel thread"
                + (k.oopses().isEmpty() ? "" : ": " + k.oopses().get(0)));
    }
}
