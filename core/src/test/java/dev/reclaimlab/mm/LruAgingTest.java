package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.concurrent.atomic.AtomicInteger;

import static dev.reclaimlab.mm.Gfp.GFP_KERNEL;
import static dev.reclaimlab.mm.Gfp.GFP_NOFS;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * LRU aging by version: 3.14's generic_perform_write() marks each written page accessed, its
 * shrink_active_list() deactivates every unmapped page and its shrink_page_list() asks page_check_references();
 * the emulated 4.3 aging ({@link Vmscan#EMULATED_43_LRU_AGING}) does none of these.
 */
@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m", kswapd = false, version = "3.14", hungTaskTimeoutMillis = 30_000)
class LruAgingTest {
    private static final int N = ScanControl.SWAP_CLUSTER_MAX;

    private static Kernel boot(Kernels kernels, boolean v314) {
        return kernels.boot(b -> b.version(v314 ? KernelVersion.V3_14 : KernelVersion.V4_3));
    }

    /** Pages that count their writepage() calls and stay dirty (AOP_WRITEPAGE_ACTIVATE). */
    private static AddressSpaceOperations countingAops(AtomicInteger writes) {
        return new AddressSpaceOperations() {
            @Override
            public int readpage(AddressSpace mapping, int page) {
                throw new UnsupportedOperationException("never read");
            }

            @Override
            public int writepage(AddressSpace mapping, int page, WritebackControl wbc) {
                writes.incrementAndGet();
                return AOP_WRITEPAGE_ACTIVATE;
            }
        };
    }

    private static int[] cachePages(Mm mm, AddressSpace m, boolean dirty) {
        int[] pfns = new int[N];
        for (int i = 0; i < N; i++) {
            int pfn = mm.filemap().grabCachePageWriteBegin(m, i);
            if (dirty) {
                mm.filemap().setPageDirty(pfn);
            }
            mm.filemap().unlockPage(pfn);
            mm.filemap().putPage(pfn);
            pfns[i] = pfn;
        }
        return pfns;
    }

    @ParameterizedTest(name = "3.14: {0}")
    @ValueSource(booleans = {true, false})
    void aWrittenPageIsReferencedOnlyBefore316(boolean v314, Kernels kernels) {
        Kernel k = boot(kernels, v314);
        Mm mm = k.mm();
        AddressSpace m = mm.addressSpaceCreate("file", countingAops(new AtomicInteger()));
        int pfn = mm.filemap().grabCachePageWriteBegin(m, 0);
        mm.filemap().performWriteMarkAccessed(pfn);
        assertThat(mm.memMap().testFlag(pfn, PageFlags.PG_referenced)).isEqualTo(v314);
        assertThat(mm.memMap().testFlag(pfn, PageFlags.PG_active)).as("written once: still inactive").isFalse();
        assertThat(k.config().has(Filemap.PERFORM_WRITE_NOT_ACCESSED)).isEqualTo(!v314);
        mm.filemap().unlockPage(pfn);
        mm.filemap().putPage(pfn);
        mm.addressSpaceDestroy(m);
    }

    @ParameterizedTest(name = "3.14: {0}")
    @ValueSource(booleans = {true, false})
    void shrinkActiveListDeactivatesReferencedPagesIn314AndKeepsThemInTheEmulated43(boolean v314, Kernels kernels) {
        Kernel k = boot(kernels, v314);
        Mm mm = k.mm();
        AddressSpace m = mm.addressSpaceCreate("file", countingAops(new AtomicInteger()));
        int[] pfns = cachePages(mm, m, false);
        for (int pfn : pfns) {
            mm.filemap().markPageAccessed(pfn);
            mm.filemap().markPageAccessed(pfn);
            mm.filemap().markPageAccessed(pfn);
        }
        assertThat(mm.vmstat().get(VmStatItem.NR_ACTIVE_FILE)).isEqualTo(N);
        mm.vmscan().shrinkActiveList(N, new ScanControl(GFP_KERNEL, 0, N, false, false));
        assertThat(mm.vmstat().get(VmStatItem.NR_ACTIVE_FILE)).isEqualTo(v314 ? 0 : N);
        assertThat(mm.vmstat().get(VmStatItem.NR_INACTIVE_FILE)).isEqualTo(v314 ? N : 0);
        assertThat(mm.memMap().testFlag(pfns[0], PageFlags.PG_referenced))
                .as("3.14 leaves PG_referenced to page_check_references(); the emulated 4.3 spends it")
                .isEqualTo(v314);
        mm.addressSpaceDestroy(m);
    }

    @ParameterizedTest(name = "3.14: {0}")
    @ValueSource(booleans = {true, false})
    void kswapdKeepsAReferencedDirtyPageUnwrittenIn314(boolean v314, Kernels kernels) {
        Kernel k = boot(kernels, v314);
        Mm mm = k.mm();
        AtomicInteger writes = new AtomicInteger();
        AddressSpace m = mm.addressSpaceCreate("file", countingAops(writes));
        int[] pfns = cachePages(mm, m, true);
        for (int pfn : pfns) {
            mm.filemap().markPageAccessed(pfn);
        }
        mm.zoneFlags().set(ZoneFlags.ZONE_TAIL_LRU_DIRTY);
        mm.vmscan().shrinkInactiveList(N, new ScanControl(GFP_KERNEL, 0, N, true, true));
        assertThat(writes.get()).as("PAGEREF_RECLAIM_CLEAN: not written for reclaim").isEqualTo(v314 ? 0 : N);
        assertThat(mm.memMap().testFlag(pfns[0], PageFlags.PG_referenced)).as("TestClearPageReferenced")
                .isEqualTo(!v314);
        assertThat(mm.vmstat().get(VmStatItem.NR_DIRTY)).isEqualTo(N);
        mm.vmscan().shrinkInactiveList(N, new ScanControl(GFP_KERNEL, 0, N, true, true));
        assertThat(writes.get()).as("3.14: unreferenced now, kswapd writes them; 4.3: written and activated before")
                .isEqualTo(N);
        mm.addressSpaceDestroy(m);
    }

    @ParameterizedTest(name = "3.14: {0}")
    @ValueSource(booleans = {true, false})
    void aReferencedCleanPageIsReclaimedInBoth(boolean v314, Kernels kernels) {
        Kernel k = boot(kernels, v314);
        Mm mm = k.mm();
        AddressSpace m = mm.addressSpaceCreate("file", countingAops(new AtomicInteger()));
        int[] pfns = cachePages(mm, m, false);
        for (int pfn : pfns) {
            mm.filemap().markPageAccessed(pfn);
        }
        ScanControl sc = new ScanControl(GFP_NOFS, 0, N, false, false);
        mm.vmscan().shrinkInactiveList(N, sc);
        assertThat(sc.nrReclaimed).isEqualTo(N);
        assertThat(m.nrpages()).isZero();
        mm.addressSpaceDestroy(m);
    }
}
