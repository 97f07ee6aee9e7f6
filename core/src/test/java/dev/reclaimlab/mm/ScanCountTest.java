package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import static dev.reclaimlab.mm.Gfp.GFP_KERNEL;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * get_scan_count() as 3.14 (and 4.3, 5.3) has it: global reclaim scans size >> priority of each list, so a
 * small LRU is not touched at the first priorities; only kswapd on a zone that is no longer reclaimable
 * (zone_reclaimable(): less than six times the reclaimable pages scanned since the zone last freed a page)
 * is forced to scan a batch.
 */
@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m", kswapd = false, version = "3.14", hungTaskTimeoutMillis = 30_000)
class ScanCountTest {
    private static final int LRU_PAGES = 1000;

    private static AddressSpace cleanPages(Mm mm, int n) {
        AddressSpace m = mm.addressSpaceCreate("file", new AddressSpaceOperations() {
            @Override
            public int readpage(AddressSpace mapping, int page) {
                throw new UnsupportedOperationException("never read");
            }

            @Override
            public int writepage(AddressSpace mapping, int page, WritebackControl wbc) {
                throw new UnsupportedOperationException("never dirty");
            }
        });
        for (int i = 0; i < n; i++) {
            int pfn = mm.filemap().grabCachePageWriteBegin(m, i);
            mm.filemap().unlockPage(pfn);
            mm.filemap().putPage(pfn);
        }
        return m;
    }

    @Test
    void scanCountIsSizeShiftedByPriorityAndABatchOnlyWhenForced() {
        assertThat(Vmscan.scanCount(LRU_PAGES, ScanControl.DEF_PRIORITY, false)).isZero();
        assertThat(Vmscan.scanCount(8192, ScanControl.DEF_PRIORITY, false)).isEqualTo(2);
        assertThat(Vmscan.scanCount(LRU_PAGES, ScanControl.DEF_PRIORITY, true))
                .isEqualTo(ScanControl.SWAP_CLUSTER_MAX);
        assertThat(Vmscan.scanCount(10, ScanControl.DEF_PRIORITY, true)).as("min(size, SWAP_CLUSTER_MAX)").isEqualTo(10);
        assertThat(Vmscan.scanCount(LRU_PAGES, 0, false)).isEqualTo(LRU_PAGES);
    }

    @Test
    void directReclaimOfASmallLruDropsPriorityUntilTheShiftedSizesAddUpToItsTarget(Kernel k) {
        Mm mm = k.mm();
        AddressSpace m = cleanPages(mm, LRU_PAGES);
        ScanControl sc = new ScanControl(GFP_KERNEL, 0, ScanControl.SWAP_CLUSTER_MAX, false, false);
        mm.vmscan().doTryToFreePages(sc);
        // Priorities 12..10 scan nothing of 1000 pages; 9..5 scan 1000 >> 9, 999 >> 8, 996 >> 7, 989 >> 6 and
        // 974 >> 5 (1 + 3 + 7 + 15 + 30), every one clean and freed, so the list shrinks as it goes.
        assertThat(mm.vmstat().get(VmStatItem.PGSCAN_DIRECT)).isEqualTo(56);
        assertThat(sc.nrReclaimed).isEqualTo(56);
        assertThat(sc.priority).isEqualTo(5);
        mm.addressSpaceDestroy(m);
    }

    @Test
    void aZoneStopsBeingReclaimableAfterSixTimesItsPagesAreScannedAndIsAgainOnceAPageIsFreed(Kernel k) {
        PageAlloc pages = k.mm().pageAlloc();
        int pfn = k.mm().allocPages(GFP_KERNEL, 1);
        assertThat(pages.zoneReclaimable(LRU_PAGES)).isTrue();
        pages.addPagesScanned(6L * LRU_PAGES - 1);
        assertThat(pages.zoneReclaimable(LRU_PAGES)).isTrue();
        pages.addPagesScanned(1);
        assertThat(pages.zoneReclaimable(LRU_PAGES)).isFalse();
        k.mm().freePages(pfn, 1);
        assertThat(pages.zoneReclaimable(LRU_PAGES)).as("free_one_page() cleared pages_scanned").isTrue();
    }
}
