package dev.reclaimlab.nfs;

import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.Inode;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.locking.Completion;
import dev.reclaimlab.mm.AddressSpace;
import dev.reclaimlab.mm.AddressSpaceOperations;
import dev.reclaimlab.mm.BackingDevInfo;
import dev.reclaimlab.mm.Mm;
import dev.reclaimlab.mm.PageAlloc;
import dev.reclaimlab.mm.ShrinkStats;
import dev.reclaimlab.mm.VmStatItem;
import dev.reclaimlab.mm.WritebackControl;
import dev.reclaimlab.mm.ZoneFlags;
import dev.reclaimlab.scenario.LoopbackNfsThrottle;
import dev.reclaimlab.scenario.NfsLoopStack;
import dev.reclaimlab.scenario.Variant;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import dev.reclaimlab.testkit.MemoryPressure;
import dev.reclaimlab.watchdog.Stall;
import dev.reclaimlab.watchdog.WatchdogReport;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Seed 003's livelock (issue 12) at its moment, planted on the real stack (NFS client, SunRPC, nfsd, XFS on
 * a queued disk; Linux 3.14): the mount congested by NFS WRITEs in flight, those pages the file LRU's tail,
 * free memory at min, kswapd not running, an NFS writer streaming. nfsd serving the WRITEs allocates XFS
 * page-cache pages with GFP_NOFS and direct-reclaims; the batches of the tail set ZONE_CONGESTED.
 * 3.14 naps nfsd in wait_iff_congested(HZ/10) after every batch and commits stop; with 3.16's pair
 * (current_may_throttle, nfsd PF_LESS_THROTTLE for loop-back WRITEs) nfsd serving a WRITE, whose own bdi is
 * not congested, does not nap there and commits go on (it still naps outside the WRITE, in svc_alloc_arg()'s
 * GFP_KERNEL reclaim, until the mount clears). The scenario's workload never reaches this moment by itself.
 */
@Timeout(90)
@ExtendWith(KernelExtension.class)
@Boot(memory = "64m", version = "3.14", kswapd = false, hungTaskTimeoutMillis = 60_000, hungTaskScanMillis = 50,
        hungTaskPanic = false)
class LoopbackThrottleStallTest {
    private static final LoopbackNfsThrottle SCENARIO = new LoopbackNfsThrottle();
    private static final String SITE = "wait_iff_congested (shrink_inactive_list)";
    private static final int NFSD_THREADS = 4;
    /** Pages of the file whose WRITEs are in flight when nfsd starts serving: 4 MiB. */
    private static final int IN_FLIGHT = 1024;
    /** Clean XFS pages behind them, for reclaim to free: 24 MiB. */
    private static final int CLEAN = 6144;
    /** sysctl fs.nfs.nfs_congestion_kb: congested past 64 pages in WRITE, cleared below 48. */
    private static final long NFS_CONGESTION_KB = 256;
    private static final long WINDOW_MILLIS = 1000;
    /**
     * 128 KiB/s over 1 s. linux-3.14 commits nothing for seconds (its nfsd frees no page before it has scanned
     * the 1024 pages in WRITE at 32 a nap); less-throttle's slowest second was about 900 KiB/s, while nfsd
     * still naps outside its WRITEs (svc_alloc_arg(), GFP_KERNEL, not PF_LESS_THROTTLE) until the mount clears.
     */
    private static final long FLOOR_BYTES_PER_SECOND = 128L << 10;
    private static final int STREAM_FILE = 256 << 10;

    @ParameterizedTest
    @ValueSource(strings = {"linux-3.14", "less-throttle"})
    void nfsdReclaimingBehindItsCongestedMountStallsCommitsIn314AndNotWithTheFixPair(String variant, Kernels kernels)
            throws Exception {
        Variant v = SCENARIO.variant(variant);
        boolean fixed = !v.fixes().isEmpty();
        Kernel k = kernels.boot(v::configure);
        Mm mm = k.mm();
        AtomicReference<WatchdogReport> first = new AtomicReference<>();
        CountDownLatch reported = new CountDownLatch(1);
        k.watchdog().addReportListener(r -> {
            if (first.compareAndSet(null, r)) {
                reported.countDown();
            }
        });
        NfsLoopStack s = NfsLoopStack.build(k, 256L << 20, 64L << 20, NFSD_THREADS);
        NfsServer srv = s.nfs().server();
        srv.setNfsCongestionKb(NFS_CONGESTION_KB);
        assertThat(mm.vmstat().get(VmStatItem.NR_INACTIVE_FILE) + mm.vmstat().get(VmStatItem.NR_ACTIVE_FILE))
                .as("the file LRU is empty before the planting").isZero();

        // nfsd's WRITEs to "inflight" wait for its XFS inode's i_rwsem (xfs_file_buffered_aio_write's IOLOCK_EXCL).
        s.nfs().vfs().close(s.nfs().vfs().create("/", "inflight"));
        Inode xfsInode = s.xfs().sb().dcache().dLookup(s.xfs().sb().root(), "inflight").inode();
        Completion locked = new Completion("inflight's inode locked");
        Completion release = new Completion("release inflight's inode");
        release.expectWaker(k.currentTask());
        k.kthreadRun("holder", self -> {
            xfsInode.inodeLock();
            locked.complete();
            release.waitForCompletion();
            xfsInode.inodeUnlock();
        });
        locked.waitForCompletion();
        // 4 MiB dirtied in "inflight" and sent as kswapd's pageout() sends a tail all dirty and unqueued
        // (for_reclaim: FILE_SYNC WRITEs, so no page of it waits UNSTABLE for a COMMIT afterwards).
        File inflight = s.nfs().vfs().open("/inflight");
        NfsInode ip = (NfsInode) s.nfs().sb().dcache().dLookup(s.nfs().sb().root(), "inflight").inode();
        byte[] chunk = new byte[64 << 10];
        for (long off = 0; off < (long) IN_FLIGHT * 4096; off += chunk.length) {
            s.nfs().vfs().write(inflight, off, chunk);
        }
        mm.writeback().writeCachePages(ip.mapping(), new WritebackControl(WritebackControl.SyncMode.WB_SYNC_NONE,
                true, false, Long.MAX_VALUE));
        Await.until(() -> srv.writeback.get() == IN_FLIGHT, IN_FLIGHT + " NFS pages in WRITE flight",
                Duration.ofSeconds(20));
        assertThat(srv.bdiWriteCongested()).as("the mount is congested by its WRITEs").isTrue();
        assertThat(mm.vmstat().get(VmStatItem.NR_INACTIVE_FILE)).as("they are the whole file LRU: its tail")
                .isEqualTo(IN_FLIGHT);

        // Clean pages of the exported XFS behind them on the LRU: what reclaim can free.
        File clean = s.xfs().vfs().create("/", "clean");
        s.xfs().vfs().write(clean, 0, new byte[CLEAN * 4096]);
        s.xfs().vfs().fsync(clean);
        s.xfs().vfs().close(clean);
        assertThat(mm.vmstat().get(VmStatItem.NR_INACTIVE_FILE)).isEqualTo(IN_FLIGHT + CLEAN);
        AddressSpace mapping = ip.mapping();
        AddressSpaceOperations aops = mapping.aops();
        for (int i = 0; i < IN_FLIGHT; i++) {
            int pfn = mm.filemap().findGetPage(mapping, i);
            assertThat(pfn).isNotEqualTo(PageAlloc.NULL_PAGE);
            assertThat(aops.isDirtyWriteback(mapping, pfn) & AddressSpaceOperations.WRITEBACK)
                    .as("page %d is in WRITE", i).isNotZero();
            mm.filemap().putPage(pfn);
        }
        assertThat(mapping.bdi()).isSameAs(srv.bdi());

        MemoryPressure.atMin(k);
        assertThat(mm.vmstat().get(VmStatItem.NR_FREE_PAGES)).as("free memory at min")
                .isLessThanOrEqualTo(mm.pageAlloc().minWmark());
        assertThat(srv.bdiWriteCongested()).isTrue();
        assertThat(mm.zoneFlags().test(ZoneFlags.ZONE_CONGESTED)).isFalse();
        // The writer: a stream of 256 KiB files, each closed (committed) and the previous one removed.
        k.kthreadRun("nfswriter", self -> {
            for (int n = 0; !self.kthreadShouldStop(); n++) {
                File f = s.nfs().vfs().create("/", "s" + n);
                for (int off = 0; off < STREAM_FILE; off += chunk.length) {
                    s.nfs().vfs().write(f, off, chunk);
                }
                s.nfs().vfs().close(f);
                if (n > 0) {
                    s.nfs().vfs().unlink("/", "s" + (n - 1));
                }
            }
        });
        LoopbackNfsThrottle.registerProgress(k, srv::committedBytes, FLOOR_BYTES_PER_SECOND,
                TimeUnit.MILLISECONDS.toNanos(WINDOW_MILLIS));
        long t0 = System.nanoTime();
        release.complete();
        BackingDevInfo xfsBdi = xfsInode.mapping().bdi();
        if (fixed) {
            long enough = k.watchdog().scans() + 4 * WINDOW_MILLIS / 50;
            Await.until(() -> reported.getCount() == 0 || k.watchdog().scans() >= enough, "four windows of scans",
                    Duration.ofSeconds(60));
            double rate = srv.committedBytes() / ((System.nanoTime() - t0) / 1e9);
            assertThat(first.get()).as("no report (%.0f bytes/s committed)", rate).isNull();
            assertThat(rate).isGreaterThan(FLOOR_BYTES_PER_SECOND);
            assertThat(xfsBdi.writeCongested()).as("nfsd's own bdi").isFalse();
        } else {
            assertThat(reported.await(30, TimeUnit.SECONDS)).as("the watchdog reports").isTrue();
            WatchdogReport r = first.get();
            assertThat(r.type()).as(r.text()).isEqualTo(WatchdogReport.Type.STALL);
            Stall st = r.stall();
            assertThat(st.counter()).isEqualTo(LoopbackNfsThrottle.COUNTER);
            assertThat(st.floorPerSecond()).isEqualTo(FLOOR_BYTES_PER_SECOND);
            assertThat(st.ratePerSecond()).isLessThan(FLOOR_BYTES_PER_SECOND);
            assertThat(st.stalledMillis()).isGreaterThanOrEqualTo(WINDOW_MILLIS);
            // nfsd serving a WRITE, holding the XFS inode's locks, asleep in reclaim's throttle for HZ/10 a nap.
            assertThat(st.tasks()).as(r.text()).anySatisfy(t -> {
                assertThat(t.task().comm()).isEqualTo("nfsd");
                assertThat(t.task().stack()).anyMatch(f -> f.contains("nfsdVfsWrite"))
                        .anyMatch(f -> f.contains("shrinkInactiveList"));
                assertThat(t.throttles()).anySatisfy(site -> {
                    assertThat(site.site()).isEqualTo(SITE);
                    assertThat(site.count()).isPositive();
                    assertThat(site.millis()).isGreaterThanOrEqualTo(100 * (site.count() - site.wokenEarly() - 1));
                });
            });
            assertThat(srv.bdiWriteCongested()).as("the mount stays congested").isTrue();
        }
        // Both: the planted tail set ZONE_CONGESTED (kswapd, which would clear it, is not running).
        assertThat(mm.zoneFlags().sets(ZoneFlags.ZONE_CONGESTED)).isPositive();
        assertThat(mm.zoneFlags().test(ZoneFlags.ZONE_CONGESTED)).isTrue();
        assertThat(mm.shrinkStats().get(false, ShrinkStats.BATCHES_CONGESTED)).isPositive();
    }
}
