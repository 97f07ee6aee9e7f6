package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(120)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m", kswapd = false, version = "3.14", hungTaskTimeoutMillis = 30_000, hungTaskPanic = false)
class ReclaimThrottleLivelockTest {
    private static final AddressSpaceOperations NEVER_WRITES = new AddressSpaceOperations() {
        @Override
        public int readpage(AddressSpace mapping, int page) {
            throw new UnsupportedOperationException("never read");
        }

        @Override
        public int writepage(AddressSpace mapping, int page, WritebackControl wbc) {
            return AOP_WRITEPAGE_ACTIVATE;
        }
    };

    /** 1 % of what the fixed kernel's nfsd wrote per second here (about 100,000 pages/s, loaded host). */
    private static final double FLOOR_PAGES_PER_SECOND = 1000;
    private static final long WINDOW_MILLIS = 1000;
    private static final long RUN_NANOS = TimeUnit.SECONDS.toNanos(3);

    /**
     * Seed 003's livelock in miniature, on the mm mechanisms alone: memory is four fifths dirty pages of a
     * congested NFS mount (which only nfsd's answers would clean) and one fifth clean pages of the exported
     * fs; nfsd, PF_LESS_THROTTLE, writes into the exported fs's cache, so its GFP_NOFS allocations direct
     * reclaim through batches whose every dirty page is on the congested bdi. 3.14 sets ZONE_CONGESTED and
     * naps nfsd in wait_iff_congested(HZ/10) after each batch: a trickle, reported as a stall with the site.
     * With current_may_throttle() nfsd, writing to an uncongested bdi, reclaims at CPU speed.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void nfsdReclaimingBehindACongestedMountTricklesIn314AndRunsFreeWithCurrentMayThrottle(boolean fix,
                                                                                        Kernels kernels)
            throws Exception {
        Kernel k = kernels.boot(b -> (fix ? b.with(Vmscan.CURRENT_MAY_THROTTLE) : b).hungTaskScanMillis(100));
        Mm mm = k.mm();
        Filemap fm = mm.filemap();
        BackingDevInfo nfsBdi = mm.bdiCreate("nfs");
        BackingDevInfo xfsBdi = mm.bdiCreate("xfs");
        AddressSpace nfs = mm.addressSpaceCreate("nfs-file", NEVER_WRITES);
        nfs.setBdi(nfsBdi);
        AddressSpace xfs = mm.addressSpaceCreate("xfs-file", NEVER_WRITES);
        xfs.setBdi(xfsBdi);
        xfs.mappingSetGfpMask(Gfp.GFP_NOFS);
        long nfsIndex = 0;
        long xfsIndex = 0;
        while (mm.pageAlloc().nrFreePages() > mm.pageAlloc().lowWmark() + 16) {
            boolean clean = (nfsIndex + xfsIndex) % 5 == 4;
            int pfn = fm.grabCachePageWriteBegin(clean ? xfs : nfs, clean ? xfsIndex++ : nfsIndex++);
            if (clean) {
                fm.setPageUptodate(pfn);
            } else {
                fm.setPageDirty(pfn);
            }
            fm.unlockPage(pfn);
            fm.putPage(pfn);
        }
        mm.backingDev().setBdiCongested(nfsBdi, BackingDev.BLK_RW_ASYNC);
        AtomicLong written = new AtomicLong();
        k.watchdog().registerProgress("nfsd_pages_written", written::get, FLOOR_PAGES_PER_SECOND,
                TimeUnit.MILLISECONDS.toNanos(WINDOW_MILLIS));
        CountDownLatch done = new CountDownLatch(1);
        long first = xfsIndex;
        Task nfsd = k.kthreadRun("nfsd", t -> {
            t.setFlags(t.flags() | TaskFlags.PF_LESS_THROTTLE);
            long index = first;
            long end = System.nanoTime() + RUN_NANOS;
            while (System.nanoTime() < end && !t.kthreadShouldStop()) {
                // nfsd_vfs_write -> xfs_file_buffered_aio_write, which sets current->backing_dev_info.
                t.setBackingDevInfo(xfsBdi);
                int pfn = fm.grabCachePageWriteBegin(xfs, index++);
                t.setBackingDevInfo(null);
                if (pfn >= 0) {
                    fm.setPageUptodate(pfn);
                    fm.unlockPage(pfn);
                    fm.putPage(pfn);
                    written.incrementAndGet();
                }
            }
            done.countDown();
        });
        assertThat(done.await(60, TimeUnit.SECONDS)).isTrue();
        Map<String, long[]> slept = nfsd.throttleAccount().totals();
        double rate = written.get() / (RUN_NANOS / 1e9);
        if (fix) {
            assertThat(k.watchdog().reports()).as("nfsd wrote %.0f pages/s", rate).isEmpty();
            assertThat(rate).isGreaterThan(FLOOR_PAGES_PER_SECOND);
            assertThat(slept).doesNotContainKey("wait_iff_congested (shrink_inactive_list)");
        } else {
            assertThat(rate).isLessThan(FLOOR_PAGES_PER_SECOND);
            assertThat(k.watchdog().reports()).first().satisfies(r -> {
                assertThat(r.type()).isEqualTo(dev.reclaimlab.watchdog.WatchdogReport.Type.STALL);
                assertThat(r.stall().counter()).isEqualTo("nfsd_pages_written");
                assertThat(r.stall().ratePerSecond()).isLessThan(FLOOR_PAGES_PER_SECOND);
                assertThat(r.stall().tasks()).filteredOn(st -> st.task().task().equals(nfsd.toString()))
                        .singleElement().satisfies(st -> assertThat(st.throttles()).anySatisfy(site -> {
                            assertThat(site.site()).isEqualTo("wait_iff_congested (shrink_inactive_list)");
                            assertThat(site.count()).isPositive();
                            assertThat(site.millis()).isGreaterThanOrEqualTo(WINDOW_MILLIS / 2);
                        }));
            });
            assertThat(slept.get("wait_iff_congested (shrink_inactive_list)")[1])
                    .as("nfsd spent most of its run napping").isGreaterThan(RUN_NANOS / 2);
        }
        assertThat(mm.zoneFlags().test(ZoneFlags.ZONE_CONGESTED)).isTrue();
        mm.backingDev().clearBdiCongested(nfsBdi, BackingDev.BLK_RW_ASYNC);
    }
}
