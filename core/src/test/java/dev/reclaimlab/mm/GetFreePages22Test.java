package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** 2.2's __get_free_pages() on a kernel booted as 2.2.1 (no zone allocator). */
@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m")
class GetFreePages22Test {

    /** Counts try_to_free_pages() calls; frees pages the test parked, or nothing. */
    private static final class Hooks implements ReclaimHooks {
        final List<Integer> gfps = new ArrayList<>();
        final List<Integer> flags = new ArrayList<>();
        final List<Integer> parked = new ArrayList<>();
        PageAlloc pa;
        long result;

        @Override
        public void wakeupKswapd(int order, int gfp) {
            throw new AssertionError("2.2 wakes kswapd from try_to_free_pages, not from the allocator");
        }

        @Override
        public long tryToFreePages(int gfp, int order) {
            gfps.add(gfp);
            flags.add(Task.current().flags());
            for (int i = 0; i < 32 && !parked.isEmpty(); i++) {
                pa.freePages(parked.remove(parked.size() - 1), 0);
            }
            return result;
        }
    }

    private static Kernel boot22(Kernels kernels) {
        return kernels.boot(b -> b.version(KernelVersion.V2_2));
    }

    private static Hooks install(Kernel k) {
        Hooks h = new Hooks();
        h.pa = k.mm().pageAlloc();
        h.pa.setReclaimHooks(h);
        return h;
    }

    /** Takes pages with PF_MEMALLOC (no reclaim) until {@code left} are free. */
    private static List<Integer> drainTo(Kernel k, long left) {
        PageAlloc pa = k.mm().pageAlloc();
        Task t = k.currentTask();
        List<Integer> got = new ArrayList<>();
        t.setFlags(t.flags() | TaskFlags.PF_MEMALLOC);
        try {
            while (pa.nrFreePages() > left) {
                got.add(pa.allocPages(Gfp22.GFP_KERNEL, 0));
            }
        } finally {
            t.setFlags(t.flags() & ~TaskFlags.PF_MEMALLOC);
        }
        return got;
    }

    @Test
    void freepagesComeFromTheNumberOfPagesAsFreeAreaInitComputesThem(Kernels kernels) {
        PageAlloc pa = boot22(kernels).mm().pageAlloc();
        // 16 MiB: 4096 pages >> 7 = 32.
        assertThat(pa.freepagesMin()).isEqualTo(32);
        assertThat(pa.freepagesLow()).isEqualTo(64);
        assertThat(pa.freepagesHigh()).isEqualTo(96);
        assertThat(pa.lowOnMemory()).isFalse();
    }

    @Test
    void onceFreeMemoryReachesMinEveryAllocationReclaimsUntilFreeMemoryIsBackAtHigh(Kernels kernels) {
        Kernel k = boot22(kernels);
        PageAlloc pa = k.mm().pageAlloc();
        Hooks h = install(k);
        h.result = 1;
        List<Integer> held = drainTo(k, pa.freepagesMin() + 2);
        int above = pa.allocPages(Gfp22.GFP_KERNEL, 0);
        assertThat(h.gfps).as("above min, not low on memory: no reclaim").isEmpty();
        held.add(above);
        held.add(pa.allocPages(Gfp22.GFP_KERNEL, 0));
        // Now at min: this one reclaims, once, under PF_MEMALLOC.
        held.add(pa.allocPages(Gfp22.GFP_USER, 0));
        assertThat(h.gfps).containsExactly(Gfp22.GFP_USER);
        assertThat(h.flags.get(0) & TaskFlags.PF_MEMALLOC).isNotZero();
        assertThat(k.currentTask().flags() & TaskFlags.PF_MEMALLOC).isZero();
        assertThat(pa.lowOnMemory()).isTrue();
        // Give back enough to be between min and high: still low on memory, still reclaiming.
        for (int i = 0; i < 40; i++) {
            pa.freePages(held.remove(held.size() - 1), 0);
        }
        assertThat(pa.nrFreePages()).isBetween(pa.freepagesMin() + 1, pa.freepagesHigh() - 1);
        held.add(pa.allocPages(Gfp22.GFP_KERNEL, 0));
        assertThat(h.gfps).hasSize(2);
        // At high the flag clears and allocation stops reclaiming.
        while (pa.nrFreePages() < pa.freepagesHigh() + 2) {
            pa.freePages(held.remove(held.size() - 1), 0);
        }
        held.add(pa.allocPages(Gfp22.GFP_KERNEL, 0));
        assertThat(pa.lowOnMemory()).isFalse();
        assertThat(h.gfps).hasSize(2);
        held.forEach(p -> pa.freePages(p, 0));
    }

    @Test
    void aTaskInAMemallocNoioScopeReclaimsWithoutGfpIoAndGetsItBackWhenTheScopeEnds(Kernels kernels) {
        Kernel k = boot22(kernels);
        PageAlloc pa = k.mm().pageAlloc();
        Hooks h = install(k);
        h.result = 1;
        List<Integer> held = drainTo(k, pa.freepagesMin());
        int saved = SchedMm.memallocNoioSave();
        try {
            held.add(pa.allocPages(Gfp22.GFP_KERNEL, 0));
        } finally {
            SchedMm.memallocNoioRestore(saved);
        }
        held.add(pa.allocPages(Gfp22.GFP_KERNEL, 0));
        assertThat(h.gfps).hasSize(2);
        assertThat(Gfp22.mayIo(h.gfps.get(0))).as("inside the scope").isFalse();
        assertThat(h.gfps.get(0)).isEqualTo(Gfp22.GFP_KERNEL & ~(Gfp.__GFP_IO | Gfp.__GFP_FS));
        assertThat(h.gfps.get(1)).as("after it").isEqualTo(Gfp22.GFP_KERNEL);
        held.forEach(p -> pa.freePages(p, 0));
    }

    @Test
    void whenReclaimFreesNothingLowPriorityMasksFailButKernelAndAtomicTakeTheFreeLists(Kernels kernels) {
        Kernel k = boot22(kernels);
        PageAlloc pa = k.mm().pageAlloc();
        Hooks h = install(k);
        h.result = 0;
        List<Integer> held = drainTo(k, pa.freepagesMin());
        long free = pa.nrFreePages();
        assertThat(pa.allocPages(Gfp22.GFP_USER, 0)).isEqualTo(PageAlloc.NULL_PAGE);
        assertThat(pa.allocPages(Gfp22.GFP_BUFFER, 0)).isEqualTo(PageAlloc.NULL_PAGE);
        assertThat(pa.nrFreePages()).as("free pages were there, the rule refused them").isEqualTo(free);
        int kernel = pa.allocPages(Gfp22.GFP_KERNEL, 0);
        int atomic = pa.allocPages(Gfp22.GFP_ATOMIC, 0);
        assertThat(kernel).isNotEqualTo(PageAlloc.NULL_PAGE);
        assertThat(atomic).isNotEqualTo(PageAlloc.NULL_PAGE);
        assertThat(h.gfps).containsExactly(Gfp22.GFP_USER, Gfp22.GFP_BUFFER, Gfp22.GFP_KERNEL, Gfp22.GFP_ATOMIC);
        held.add(kernel);
        held.add(atomic);
        held.forEach(p -> pa.freePages(p, 0));
    }

    @Test
    void aPfMemallocTaskNeverReclaimsAndTakesPagesDownToZero(Kernels kernels) {
        Kernel k = boot22(kernels);
        PageAlloc pa = k.mm().pageAlloc();
        Hooks h = install(k);
        List<Integer> held = drainTo(k, 0);
        assertThat(pa.nrFreePages()).isZero();
        assertThat(h.gfps).isEmpty();
        Task t = k.currentTask();
        t.setFlags(t.flags() | TaskFlags.PF_MEMALLOC);
        assertThat(pa.allocPages(Gfp22.GFP_KERNEL, 0)).isEqualTo(PageAlloc.NULL_PAGE);
        t.setFlags(t.flags() & ~TaskFlags.PF_MEMALLOC);
        held.forEach(p -> pa.freePages(p, 0));
        assertThat(pa.pcpPages()).as("2.2 has no per-CPU lists").isZero();
        assertThat(pa.checkFreeArea()).isNull();
        assertThat(pa.nrFreePages()).isEqualTo(pa.managedPages());
    }

    @Test
    void ordersAboveFiveAreRefusedAsNrMemListsRefusesThem(Kernels kernels) {
        PageAlloc pa = boot22(kernels).mm().pageAlloc();
        assertThat(pa.allocPages(Gfp22.GFP_KERNEL, 6)).isEqualTo(PageAlloc.NULL_PAGE);
        int p = pa.allocPages(Gfp22.GFP_KERNEL, 5);
        assertThat(p).isNotEqualTo(PageAlloc.NULL_PAGE);
        pa.freePages(p, 5);
    }

    @Test
    void aTwoTwoKernelStartsNeitherKswapdZeroNorTheFlusher(Kernels kernels) {
        Kernel k = boot22(kernels);
        assertThat(k.mm().kswapdTask()).isNull();
        assertThat(k.tasks()).extracting(Task::comm).doesNotContain("kswapd0");
    }
}
