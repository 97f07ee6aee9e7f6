package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;

import java.util.Comparator;

/**
 * mm/oom_kill.c's out_of_memory() and dump_header(), without the kill: the emulator has no process to
 * sacrifice, so after reclaim gave up it prints what holds memory, the way the kernel's report does, and
 * the allocation fails.
 */
final class Oom {
    private final Kernel kernel;
    private final Mm mm;

    Oom(Kernel kernel, Mm mm) {
        this.kernel = kernel;
        this.mm = mm;
    }

    /** Whether the kernel would invoke the OOM killer for this failure (__alloc_pages_may_oom()). */
    static boolean wouldOom(int gfp, int order) {
        return (gfp & Gfp.__GFP_FS) != 0 && (gfp & (Gfp.__GFP_NORETRY | Gfp.__GFP_RETRY_MAYFAIL)) == 0 && order <= 3;
    }

    private final java.util.concurrent.atomic.AtomicLong lastReport = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong invocations = new java.util.concurrent.atomic.AtomicLong();

    /** How often the OOM killer was invoked. */
    long invocations() {
        return invocations.get();
    }

    /** out_of_memory() when the allocation then fails: the report, every time. */
    void outOfMemoryAndFail(Task t, int gfp, int order) {
        invocations.incrementAndGet();
        outOfMemory(t, gfp, order);
    }

    /**
     * out_of_memory() when the allocator will retry: the report, at most once a second (a kernel that
     * kills prints one per victim; the emulator's loop would print one a jiffy).
     */
    void outOfMemoryRatelimited(Task t, int gfp, int order) {
        invocations.incrementAndGet();
        long now = System.nanoTime();
        long last = lastReport.get();
        if ((last == 0 || now - last >= 1_000_000_000L) && lastReport.compareAndSet(last, now)) {
            outOfMemory(t, gfp, order);
        }
    }

    /** Prints the report to the kernel log and returns it. */
    String outOfMemory(Task t, int gfp, int order) {
        VmStat v = mm.vmstat();
        PageAlloc pa = mm.pageAlloc();
        long kb = PhysMem.PAGE_SIZE / 1024;
        StringBuilder sb = new StringBuilder();
        sb.append(t.comm()).append(" invoked oom-killer: gfp_mask=").append(Gfp.formatMode(gfp)).append(", order=")
                .append(order).append(", oom_score_adj=0\n");
        sb.append("Mem-Info:\n");
        sb.append(String.format("active_file:%d inactive_file:%d isolated_file:%d%n",
                v.get(VmStatItem.NR_ACTIVE_FILE), v.get(VmStatItem.NR_INACTIVE_FILE),
                v.get(VmStatItem.NR_ISOLATED_FILE)));
        sb.append(String.format(" dirty:%d writeback:%d%n", v.get(VmStatItem.NR_DIRTY),
                v.get(VmStatItem.NR_WRITEBACK)));
        sb.append(String.format(" slab_reclaimable:%d slab_unreclaimable:%d%n",
                v.get(VmStatItem.NR_SLAB_RECLAIMABLE_B) / PhysMem.PAGE_SIZE,
                v.get(VmStatItem.NR_SLAB_UNRECLAIMABLE_B) / PhysMem.PAGE_SIZE));
        sb.append(String.format(" free:%d free_pcp:%d%n", pa.nrFreePages(), pa.pcpPages()));
        sb.append(String.format("Node 0 Normal free:%dkB min:%dkB low:%dkB high:%dkB present:%dkB%n",
                pa.nrFreePages() * kb, pa.minWmark() * kb, pa.lowWmark() * kb, pa.highWmark() * kb,
                pa.managedPages() * kb));
        sb.append(pa.buddyinfo());
        sb.append("Unreclaimable slab info:\nName                      Used          Total\n");
        mm.slub().caches().stream()
                .filter(c -> !c.reclaimable() && c.nrSlabs() > 0)
                .sorted(Comparator.comparingLong(KmemCache::nrSlabs).reversed())
                .forEach(c -> sb.append(String.format("%-20s %9dKB %11dKB%n", c.name(),
                        c.activeObjects() * c.objectSize() / 1024, c.nrPages() * kb)));
        sb.append(kernel.config().has(PageAlloc.SHOULD_RECLAIM_RETRY)
                ? "Out of memory: nothing reclaimable and no task to kill in the emulator; failing the allocation\n"
                : "Out of memory: no task to kill in the emulator; the allocation retries (4.3: too small to fail)\n");
        String report = sb.toString();
        kernel.printk(report);
        return report;
    }
}
