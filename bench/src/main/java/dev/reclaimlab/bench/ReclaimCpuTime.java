package dev.reclaimlab.bench;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelConfig;
import dev.reclaimlab.mm.AddressSpace;
import dev.reclaimlab.mm.AddressSpaceOperations;
import dev.reclaimlab.mm.Filemap;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.Mm;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.mm.VmStatItem;
import dev.reclaimlab.mm.WritebackControl;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;

/**
 * Tooling, not a kernel model: ReclaimBench.directReclaimCleanPages's loop timed by this thread's CPU time
 * instead of the wall clock, so that other processes on a loaded 2-core machine count less (they still
 * share the caches). Rounds of a million page-cache fills, each page from direct reclaim of a clean one;
 * prints each round and the minimum and median. Self-contained (its own zero-filling aops) so it also
 * runs as a source file against an older revision's jar:
 * {@code java -cp OLD/benchmarks.jar bench/src/main/java/dev/reclaimlab/bench/ReclaimCpuTime.java 6}.
 */
public final class ReclaimCpuTime {
    private static final int OPS_PER_ROUND = 1_000_000;

    private ReclaimCpuTime() {
    }

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 6;
        if (rounds < 1) {
            throw new IllegalArgumentException("ReclaimCpuTime: rounds must be at least 1, not " + rounds);
        }
        Kernel kernel = Kernel.boot(KernelConfig.builder().memory("64m").lockdep(false).watchdog(false)
                .kswapd(false).build());
        try {
            Mm mm = kernel.mm();
            Filemap fm = mm.filemap();
            AddressSpace file = mm.addressSpaceCreate("bench-file", new AddressSpaceOperations() {
                @Override
                public int readpage(AddressSpace mapping, int page) {
                    mm.mem().memset(mm.pageAddress(page), 0, PhysMem.PAGE_SIZE);
                    fm.setPageUptodate(page);
                    fm.unlockPage(page);
                    return 0;
                }

                @Override
                public int writepage(AddressSpace mapping, int page, WritebackControl wbc) {
                    throw new IllegalStateException("ReclaimCpuTime: pages are never dirty");
                }
            });
            long next = 0;
            while (mm.vmstat().get(VmStatItem.ALLOCSTALL_NORMAL) == 0) {
                next = fill(fm, file, next, 1);
            }
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            double[] ns = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                long cpu0 = threads.getCurrentThreadCpuTime();
                long wall0 = System.nanoTime();
                next = fill(fm, file, next, OPS_PER_ROUND);
                ns[r] = (threads.getCurrentThreadCpuTime() - cpu0) / (double) OPS_PER_ROUND;
                System.out.printf("round %d: cpu %.1f ns/op, wall %.1f ns/op%n", r, ns[r],
                        (System.nanoTime() - wall0) / (double) OPS_PER_ROUND);
            }
            Arrays.sort(ns);
            System.out.printf("cpu ns/op: min %.1f median %.1f of %d rounds%n", ns[0], ns[rounds / 2], rounds);
        } finally {
            kernel.close();
        }
    }

    private static long fill(Filemap fm, AddressSpace file, long next, int n) {
        for (int i = 0; i < n; i++) {
            int pfn = fm.readCachePage(file, next++, Gfp.GFP_KERNEL);
            if (pfn < 0) {
                throw new IllegalStateException("ReclaimCpuTime: page cache read failed: " + pfn);
            }
            fm.putPage(pfn);
        }
        return next;
    }
}
