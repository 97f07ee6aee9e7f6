package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;

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

    public Mm(Kernel kernel) {
        this.kernel = kernel;
        this.mem = new PhysMem(kernel.config().memoryBytes(), offHeap);
        try {
            this.map = new MemMap(mem.nrPages(), offHeap);
        } catch (RuntimeException | Error e) {
            mem.release();
            throw e;
        }
        this.pageAlloc = new PageAlloc(kernel, mem, map);
        this.vmstat = new VmStat(kernel.nrCpus(), pageAlloc);
        pageAlloc.setVmStat(vmstat);
        this.slub = new Slub(kernel, mem, map, pageAlloc, vmstat);
        this.kmalloc = new KmallocCaches(kernel, mem, map, pageAlloc, slub);
    }

    public Kernel kernel() {
        return kernel;
    }

    public PhysMem mem() {
        return mem;
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
        long available = Math.max(0, free - pageAlloc.highWmark() + reclaimable - Math.min(reclaimable / 2, wmarkLow));
        StringBuilder sb = new StringBuilder();
        line(sb, "MemTotal", pageAlloc.managedPages() * kb);
        line(sb, "MemFree", free * kb);
        line(sb, "MemAvailable", available * kb);
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
