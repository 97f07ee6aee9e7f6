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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.reclaimlab.mm.Gfp.GFP_ATOMIC;
import static dev.reclaimlab.mm.Gfp.GFP_KERNEL;
import static dev.reclaimlab.mm.Gfp.GFP_NOFS;
import static dev.reclaimlab.mm.Gfp.GFP_NOWAIT;
import static dev.reclaimlab.mm.Gfp.__GFP_NORETRY;
import static org.assertj.core.api.Assertions.assertThat;

@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m")
class WatermarkTest {

    /** Records the hook calls; reclaim frees pages the test parked in {@code reclaimable}. */
    private static final class RecordingHooks implements ReclaimHooks {
        final List<Long> wakeupsAtFree = new ArrayList<>();
        final List<Integer> reclaimGfps = new ArrayList<>();
        final List<Integer> reclaimFlags = new ArrayList<>();
        final Deque<Integer> reclaimable = new ArrayDeque<>();
        PageAlloc pa;

        @Override
        public void wakeupKswapd(int order, int gfp) {
            wakeupsAtFree.add(pa.nrFreePages());
        }

        @Override
        public long tryToFreePages(int gfp, int order) {
            reclaimGfps.add(gfp);
            reclaimFlags.add(Task.current().flags());
            long n = 0;
            while (!reclaimable.isEmpty() && n < 32) {
                pa.freePages(reclaimable.pop(), 0);
                n++;
            }
            pa.drainAllPages();
            return n;
        }
    }

    private static RecordingHooks install(Kernel k) {
        RecordingHooks h = new RecordingHooks();
        h.pa = k.mm().pageAlloc();
        h.pa.setReclaimHooks(h);
        return h;
    }

    /** Allocates order-0 pages with {@code gfp} until the next one would take free memory to {@code stop}. */
    private static List<Integer> fillTo(PageAlloc pa, long stop, int gfp) {
        List<Integer> got = new ArrayList<>();
        while (pa.nrFreePages() + pa.pcpPages() > stop) {
            int pfn = pa.allocPages(gfp, 0);
            if (pfn == PageAlloc.NULL_PAGE) {
                break;
            }
            got.add(pfn);
        }
        return got;
    }

    @Test
    void kswapdIsWokenOnlyOnceFreeMemoryFallsBelowTheLowWatermark(Kernel k) {
        RecordingHooks h = install(k);
        PageAlloc pa = k.mm().pageAlloc();
        fillTo(pa, pa.lowWmark() + 64, GFP_KERNEL);
        assertThat(h.wakeupsAtFree).as("no wakeup above the low watermark").isEmpty();
        fillTo(pa, pa.lowWmark() - 16, GFP_KERNEL);
        assertThat(h.wakeupsAtFree).isNotEmpty();
        assertThat(h.wakeupsAtFree.get(0)).as("first wakeup happens at the low watermark")
                .isLessThanOrEqualTo(pa.lowWmark()).isGreaterThan(pa.lowWmark() - pa.pcpBatch() - 2);
        assertThat(h.reclaimGfps).as("between low and min no one reclaims directly").isEmpty();
    }

    @Test
    void belowMinAnAtomicAllocationFailsWithoutReclaimAndSaysWhy(Kernel k) {
        RecordingHooks h = install(k);
        PageAlloc pa = k.mm().pageAlloc();
        fillTo(pa, 0, GFP_NOWAIT);
        assertThat(pa.nrFreePages()).isLessThanOrEqualTo(pa.minWmark() + 1);
        assertThat(pa.allocPages(GFP_NOWAIT, 0)).isEqualTo(PageAlloc.NULL_PAGE);
        AllocFailure f = AllocFailure.of(k.currentTask());
        assertThat(f.reason()).isEqualTo(AllocFailure.Reason.NO_DIRECT_RECLAIM);
        assertThat(f.warnAlloc()).contains("page allocation failure: order:0, mode:0x800(GFP_NOWAIT)");
        // __GFP_HIGH may use half of the min reserve.
        assertThat(pa.allocPages(GFP_ATOMIC, 0)).isNotEqualTo(PageAlloc.NULL_PAGE);
        assertThat(h.reclaimGfps).isEmpty();
    }

    @Test
    void directReclaimRunsUnderPfMemallocWithTheCallersScopedGfpAndCountsAllocstall(Kernel k) {
        RecordingHooks h = install(k);
        PageAlloc pa = k.mm().pageAlloc();
        h.reclaimable.addAll(fillTo(pa, 0, GFP_NOWAIT));
        long before = k.mm().vmstat().get(VmStatItem.ALLOCSTALL_NORMAL);
        int pfn;
        try (var scope = SchedMm.nofsScope()) {
            pfn = pa.allocPages(GFP_KERNEL, 0);
        }
        assertThat(pfn).isNotEqualTo(PageAlloc.NULL_PAGE);
        assertThat(h.reclaimGfps).isNotEmpty().allMatch(g -> g == GFP_NOFS);
        assertThat(h.reclaimFlags).allMatch(f -> (f & TaskFlags.PF_MEMALLOC) != 0);
        assertThat(k.currentTask().flags() & TaskFlags.PF_MEMALLOC).as("PF_MEMALLOC is dropped after").isZero();
        assertThat(k.mm().vmstat().get(VmStatItem.ALLOCSTALL_NORMAL)).isGreaterThan(before);
    }

    @Test
    void from47WithNothingReclaimableNofsFailsAfterItsRetriesGfpKernelOomsAndNoretryGivesUpAfterOne(Kernels kernels) {
        Kernel k = kernels.boot(b -> b.with(PageAlloc.SHOULD_RECLAIM_RETRY));
        RecordingHooks h = install(k);
        PageAlloc pa = k.mm().pageAlloc();
        fillTo(pa, 0, GFP_NOWAIT);
        assertThat(pa.allocPages(GFP_KERNEL | __GFP_NORETRY, 0)).isEqualTo(PageAlloc.NULL_PAGE);
        assertThat(AllocFailure.of(k.currentTask()).reason()).isEqualTo(AllocFailure.Reason.NORETRY);
        int calls = h.reclaimGfps.size();
        assertThat(calls).isEqualTo(1);
        assertThat(pa.allocPages(GFP_NOFS, 0)).isEqualTo(PageAlloc.NULL_PAGE);
        assertThat(AllocFailure.of(k.currentTask()).reason()).isEqualTo(AllocFailure.Reason.NO_PROGRESS);
        assertThat(h.reclaimGfps.size() - calls).isGreaterThan(PageAlloc.MAX_RECLAIM_RETRIES);
        // Only an allocation that may enter the filesystem invokes the OOM killer.
        assertThat(pa.allocPages(GFP_KERNEL, 0)).isEqualTo(PageAlloc.NULL_PAGE);
        assertThat(AllocFailure.of(k.currentTask()).reason()).isEqualTo(AllocFailure.Reason.OOM);
    }

    /** Parks {@code pages} where reclaim finds them once {@code after} rounds of it have found nothing. */
    private static final class LateReclaim implements ReclaimHooks {
        final PageAlloc pa;
        final Deque<Integer> pages;
        final int after;
        final AtomicInteger rounds = new AtomicInteger();
        final AtomicInteger ooms = new AtomicInteger();

        LateReclaim(PageAlloc pa, List<Integer> pages, int after) {
            this.pa = pa;
            this.pages = new ArrayDeque<>(pages);
            this.after = after;
        }

        @Override
        public void wakeupKswapd(int order, int gfp) {
        }

        @Override
        public long tryToFreePages(int gfp, int order) {
            if (rounds.incrementAndGet() <= after) {
                return 0;
            }
            long n = 0;
            while (!pages.isEmpty() && n < 32) {
                pa.freePages(pages.pop(), 0);
                n++;
            }
            pa.drainAllPages();
            return n;
        }

        @Override
        public void outOfMemoryRetry(Task t, int gfp, int order) {
            ooms.incrementAndGet();
        }
    }

    @ParameterizedTest(name = "gfp_fs={0}")
    @ValueSource(booleans = {false, true})
    void in43ASmallAllocationThatReclaimCannotServeRetriesUntilItCanOomingOnlyWithGfpFs(boolean fs, Kernel k) {
        assertThat(k.config().has(PageAlloc.SHOULD_RECLAIM_RETRY)).isFalse();
        PageAlloc pa = k.mm().pageAlloc();
        List<Integer> held = fillTo(pa, 0, GFP_NOWAIT);
        LateReclaim h = new LateReclaim(pa, held.subList(0, 64), 3 * PageAlloc.MAX_RECLAIM_RETRIES);
        pa.setReclaimHooks(h);
        int pfn = pa.allocPages(fs ? GFP_KERNEL : GFP_NOFS, 0);
        assertThat(pfn).as("too small to fail: it waited out %d fruitless rounds", h.after).isNotEqualTo(PageAlloc.NULL_PAGE);
        assertThat(h.rounds.get()).isGreaterThan(h.after);
        // Each fruitless round ended in __alloc_pages_may_oom(): the OOM killer only for __GFP_FS.
        assertThat(h.ooms.get()).isEqualTo(fs ? h.after : 0);
        pa.freePages(pfn, 0);
        held.subList(64, held.size()).forEach(p -> pa.freePages(p, 0));
    }

    @Test
    void in43NoretryGivesUpAfterOneRoundAndACostlyOrderFailsWithoutTheOomKiller(Kernel k) {
        PageAlloc pa = k.mm().pageAlloc();
        List<Integer> held = fillTo(pa, 0, GFP_NOWAIT);
        LateReclaim h = new LateReclaim(pa, List.of(), Integer.MAX_VALUE);
        pa.setReclaimHooks(h);
        assertThat(pa.allocPages(GFP_KERNEL | __GFP_NORETRY, 0)).isEqualTo(PageAlloc.NULL_PAGE);
        assertThat(AllocFailure.of(k.currentTask()).reason()).isEqualTo(AllocFailure.Reason.NORETRY);
        assertThat(h.rounds.get()).isEqualTo(1);
        assertThat(pa.allocPages(GFP_KERNEL, PageAlloc.PAGE_ALLOC_COSTLY_ORDER + 1)).isEqualTo(PageAlloc.NULL_PAGE);
        assertThat(AllocFailure.of(k.currentTask()).reason()).isEqualTo(AllocFailure.Reason.COSTLY_ORDER);
        assertThat(h.rounds.get()).isEqualTo(2);
        assertThat(h.ooms.get()).isZero();
        held.forEach(p -> pa.freePages(p, 0));
    }

    @Test
    void aTaskAlreadyInReclaimDipsIntoTheReservesButNeverRecurses(Kernel k) {
        RecordingHooks h = install(k);
        PageAlloc pa = k.mm().pageAlloc();
        fillTo(pa, 0, GFP_NOWAIT);
        int saved = SchedMm.memallocNoreclaimSave();
        try {
            List<Integer> reserve = fillTo(pa, 0, GFP_KERNEL);
            assertThat(reserve).as("PF_MEMALLOC may take pages below min").isNotEmpty();
            assertThat(pa.allocPages(GFP_KERNEL, 0)).isEqualTo(PageAlloc.NULL_PAGE);
            assertThat(AllocFailure.of(k.currentTask()).reason()).isEqualTo(AllocFailure.Reason.RECLAIM_RECURSION);
        } finally {
            SchedMm.memallocNoreclaimRestore(saved);
        }
        assertThat(h.reclaimGfps).as("no direct reclaim from inside reclaim").isEmpty();
    }

    /**
     * One free order-1 block among thousands of free single pages, free memory far above high: 4.3's
     * __zone_watermark_ok() counts only the pages in blocks of order 1 and above against half the mark
     * and refuses; 4.4's asks for the order-0 mark and one block, and allows.
     */
    @ParameterizedTest(name = "{0}: order 1 allowed {1}")
    @CsvSource({"3.14, false", "4.3, false", "5.3, true"})
    @Boot(memory = "16m", kswapd = false)
    void before44AFragmentedZoneRefusesOrder1FarAboveTheWatermark(String version, boolean allowed, Kernels kernels) {
        Kernel k = kernels.boot(b -> b.version(KernelVersion.parse(version)));
        PageAlloc pa = k.mm().pageAlloc();
        Task t = k.currentTask();
        List<Integer> all = new ArrayList<>();
        t.setFlags(t.flags() | TaskFlags.PF_MEMALLOC);
        try {
            for (int p; (p = pa.allocPages(GFP_ATOMIC, 0)) != MemMap.NO_PFN; ) {
                all.add(p);
            }
        } finally {
            t.setFlags(t.flags() & ~TaskFlags.PF_MEMALLOC);
        }
        int pair = all.stream().filter(p -> (p & 1) == 0 && all.contains(p + 1)).findFirst().orElseThrow();
        for (int p : all) {
            if ((p & 1) == 0 || p == pair + 1) {
                pa.freePages(p, 0);
            }
        }
        pa.drainAllPages();
        assertThat(pa.nrFreePages()).isGreaterThan(4 * pa.highWmark());
        int got = pa.allocPages(GFP_NOWAIT, 1);
        assertThat(got != MemMap.NO_PFN).as("order-1 GFP_NOWAIT allocation succeeded").isEqualTo(allowed);
        if (allowed) {
            assertThat(got).isEqualTo(pair);
            pa.freePages(got, 1);
        }
    }
}
