package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.locking.Completion;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static dev.reclaimlab.mm.Gfp.GFP_KERNEL;
import static dev.reclaimlab.mm.Gfp.GFP_NOFS;
import static dev.reclaimlab.mm.Gfp.__GFP_FS;
import static dev.reclaimlab.mm.Gfp.__GFP_IO;
import static org.assertj.core.api.Assertions.assertThat;

/** Page reclaim end to end: page cache, LRU, shrink_page_list, kswapd, direct reclaim, throttling, OOM. */
@ExtendWith(KernelExtension.class)
class ReclaimTest {

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    @Boot(memory = "64m", hungTaskTimeoutMillis = 30_000)
    void pageCacheWorkloadOfTenTimesMemoryReadsBackEveryByteWhileOnlyKswapdWritesForReclaim(Kernel k) throws Exception {
        Mm mm = k.mm();
        TestFs fs = new TestFs(k);
        int files = 8;
        long pagesPerFile = (10L * mm.mem().nrPages()) / files;
        List<AddressSpace> ms = new ArrayList<>();
        for (int f = 0; f < files; f++) {
            ms.add(mm.addressSpaceCreate("file" + f, fs));
        }
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(2);
        for (int w = 0; w < 2; w++) {
            int first = w * files / 2;
            k.kthreadRun("writer" + w, self -> {
                try {
                    for (long i = 0; i < pagesPerFile; i++) {
                        for (int f = first; f < first + files / 2; f++) {
                            int err = fs.writePage(ms.get(f), i, seed(f, i));
                            if (err != 0) {
                                throw new AssertionError("write of file" + f + " page " + i + " failed: " + err
                                        + " " + AllocFailure.of(self).warnAlloc());
                            }
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    done.countDown();
                }
            });
        }
        assertThat(done.await(150, TimeUnit.SECONDS)).isTrue();
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        for (AddressSpace m : ms) {
            mm.writeback().filemapWriteAndWait(m);
        }
        for (int f = 0; f < files; f++) {
            for (long i = 0; i < pagesPerFile; i++) {
                assertThat(fs.readPage(ms.get(f), i, GFP_KERNEL)).as("file%d page %d", f, i).isEqualTo(seed(f, i));
            }
        }
        assertThat(fs.errors).isEmpty();
        VmStat v = mm.vmstat();
        assertThat(v.get(VmStatItem.PGSTEAL_KSWAPD) + v.get(VmStatItem.PGSTEAL_DIRECT))
                .as("reclaim freed most of what was written").isGreaterThan(8L * mm.mem().nrPages());
        assertThat(fs.writepagesInDirectReclaim).as("direct reclaim never writes").hasValue(0);
        assertThat(fs.writepages.get()).isGreaterThanOrEqualTo(files * pagesPerFile);
        assertThat(k.oopses()).isEmpty();
        for (AddressSpace m : ms) {
            mm.addressSpaceDestroy(m);
        }
        assertThat(v.get(VmStatItem.NR_FILE_PAGES)).isZero();
        assertThat(mm.radixTreeNodeCache().activeObjects()).as("every index node freed with its mapping, but the"
                + " per-CPU preloads").isEqualTo(mm.radixTreePreload().preloaded());
    }

    private static long seed(int file, long index) {
        return ((long) file << 40) ^ (index * 0x9E3779B97F4A7C15L) ^ 0x5eedL;
    }

    @Test
    @Timeout(60)
    @Boot(memory = "32m", hungTaskTimeoutMillis = 30_000)
    void kswapdReclaimsToTheHighWatermarkAndDirectReclaimCountsAllocstalls(Kernel k) throws Exception {
        Mm mm = k.mm();
        TestFs fs = new TestFs(k);
        AddressSpace m = mm.addressSpaceCreate("bigfile", fs);
        long pages = 4L * mm.mem().nrPages();
        long allocstallBefore = mm.vmstat().get(VmStatItem.ALLOCSTALL_NORMAL);
        for (long i = 0; i < pages; i++) {
            assertThat(fs.readPage(m, i, GFP_KERNEL)).isZero();
        }
        assertThat(mm.kswapdWakeups()).isPositive();
        assertThat(mm.vmstat().get(VmStatItem.PGSCAN_KSWAPD)).isPositive();
        assertThat(mm.vmstat().get(VmStatItem.PGSTEAL_KSWAPD)).isPositive();
        assertThat(mm.vmstat().get(VmStatItem.PAGEOUTRUN)).isPositive();
        long stalls = mm.vmstat().get(VmStatItem.ALLOCSTALL_NORMAL) - allocstallBefore;
        long direct = mm.vmstat().get(VmStatItem.PGSCAN_DIRECT);
        assertThat(stalls > 0).as("allocstall counted iff direct reclaim scanned").isEqualTo(direct > 0);
        assertThat(mm.pageAlloc().nrFreePages()).as("free memory never below min")
                .isGreaterThanOrEqualTo(mm.pageAlloc().minWmark());
        mm.addressSpaceDestroy(m);
    }

    @Test
    @Timeout(60)
    @Boot(memory = "32m", kswapd = false)
    void reclaimUnderGfpNofsCallsNoFsCallbackWithGfpFsAndUnderNoioStartsNoIo(Kernel k) throws Exception {
        // No kswapd: every shortage is met by this task's own direct reclaim, under its scopes.
        Mm mm = k.mm();
        TestFs fs = new TestFs(k);
        fs.privatePages = true;
        ConcurrentLinkedQueue<int[]> shrinkerCalls = new ConcurrentLinkedQueue<>();
        mm.shrinkers().registerShrinker(new Shrinker() {
            @Override
            public String name() {
                return "super_cache_scan-testfs";
            }

            @Override
            public long countObjects(ShrinkControl sc) {
                // Enough that even DEF_PRIORITY asks for a batch.
                return 1 << 20;
            }

            @Override
            public long scanObjects(ShrinkControl sc) {
                shrinkerCalls.add(new int[] {sc.gfpMask, Task.current().pid()});
                return (sc.gfpMask & __GFP_FS) == 0 ? SHRINK_STOP : 0;
            }
        });
        AddressSpace m = mm.addressSpaceCreate("private", fs);
        Task me = k.currentTask();
        long pages = 3L * mm.mem().nrPages();
        try (var nofs = SchedMm.nofsScope()) {
            for (long i = 0; i < pages; i++) {
                assertThat(fs.readPage(m, i, GFP_KERNEL)).isZero();
            }
        }
        try (var noio = SchedMm.noioScope()) {
            for (long i = pages; i < 2 * pages; i++) {
                assertThat(fs.readPage(m, i, GFP_KERNEL)).isZero();
            }
        }
        List<int[]> mine = new ArrayList<>();
        fs.releasepageCalls.stream().filter(c -> c[1] == me.pid()).forEach(mine::add);
        assertThat(mine).as("direct reclaim released private pages").isNotEmpty();
        assertThat(mine).allMatch(c -> (c[0] & __GFP_FS) == 0);
        assertThat(shrinkerCalls.stream().filter(c -> c[1] == me.pid())).allMatch(c -> (c[0] & __GFP_FS) == 0);
        assertThat(shrinkerCalls.stream().filter(c -> c[1] == me.pid() && (c[0] & __GFP_IO) == 0)).isNotEmpty();
        assertThat(fs.writepagesInDirectReclaim).hasValue(0);
        mm.addressSpaceDestroy(m);
    }

    @Test
    @Timeout(60)
    @Boot(memory = "16m", hungTaskTimeoutMillis = 30_000)
    void from47UnreclaimableMemoryEndsInAnOomReportAndFailureWithinSeconds(Kernels kernels) {
        Kernel k = kernels.boot(b -> b.with(PageAlloc.SHOULD_RECLAIM_RETRY));
        Mm mm = k.mm();
        List<Long> held = new ArrayList<>();
        long t0 = System.nanoTime();
        for (;;) {
            long a = mm.kmalloc(4096, GFP_KERNEL);
            if (a == 0) {
                break;
            }
            held.add(a);
        }
        assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0)).isLessThan(10);
        assertThat(AllocFailure.of(k.currentTask()).reason()).isEqualTo(AllocFailure.Reason.OOM);
        // kmalloc-4k's order-3 try gives up without reclaim (4.3's allocate_slab()); its minimum-order slab,
        // taken with the caller's gfp, is what fails (order 1: the emulator keeps each object's metadata word
        // at the slab's end, so 4096 bytes need two pages).
        int minOrder = mm.kmallocCaches().kmallocSlab(4096).minOrder();
        assertThat(minOrder).isEqualTo(1);
        assertThat(k.dmesg()).containsPattern("main invoked oom-killer: gfp_mask=0x[0-9a-f]+\\(GFP_KERNEL\\|__GFP_COMP\\),"
                + " order=" + minOrder).contains("Unreclaimable slab info:").containsPattern("kmalloc-4k +\\d+KB");
        assertThat(mm.kmalloc(64, GFP_NOFS)).as("GFP_NOFS fails without the OOM killer").isZero();
        assertThat(mm.oomInvocations()).isEqualTo(1);
        for (long a : held) {
            mm.kfree(a);
        }
    }

    @Test
    @Timeout(60)
    @Boot(memory = "16m", hungTaskTimeoutMillis = 30_000)
    void in43UnreclaimableMemoryKeepsASmallAllocationRetryingWithOomReportsUntilMemoryComesBack(Kernel k) {
        Mm mm = k.mm();
        List<Integer> reserve = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            reserve.add(mm.allocPages(GFP_KERNEL, 0));
        }
        List<Integer> held = new ArrayList<>();
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch done = new CountDownLatch(1);
        Task hog = k.kthreadRun("hog", self -> {
            while (!stop.get()) {
                int pfn = mm.allocPages(GFP_KERNEL, 0);
                assertThat(pfn).as("4.3: too small to fail").isNotEqualTo(PageAlloc.NULL_PAGE);
                held.add(pfn);
            }
            done.countDown();
        });
        Await.until(() -> mm.oomInvocations() >= 3, "the hog's allocation to invoke the OOM killer 3 times",
                Duration.ofSeconds(30));
        assertThat(hog.thread().isAlive()).isTrue();
        assertThat(k.dmesg()).containsPattern("hog invoked oom-killer: gfp_mask=0x[0-9a-f]+\\(GFP_KERNEL\\), order=0")
                .contains("the allocation retries (4.3: too small to fail)");
        stop.set(true);
        for (int pfn : reserve) {
            mm.freePages(pfn, 0);
        }
        Await.until(() -> done.getCount() == 0, "the hog to get a page and stop", Duration.ofSeconds(30));
        for (int pfn : held) {
            mm.freePages(pfn, 0);
        }
    }

    @Test
    @Timeout(60)
    @Boot(memory = "64m", hungTaskTimeoutMillis = 30_000)
    void aWriterAboveTheDirtyLimitSleepsUntilWritebackCatchesUpButALessThrottleTaskDoesNot(Kernel k) throws Exception {
        Mm mm = k.mm();
        TestFs fs = new TestFs(k);
        Writeback wb = mm.writeback();
        AddressSpace m = mm.addressSpaceCreate("dirty", fs);
        Task me = k.currentTask();
        Completion gate = fs.closeIoGate();
        long[] lim = wb.dirtyLimits(me);
        // Dirty past the normal threshold but under the PF_LESS_THROTTLE one, without looking at limits.
        long target = lim[1] + (lim[1] / 8);
        int saved = me.flags();
        me.setFlags(saved | TaskFlags.PF_LESS_THROTTLE);
        try {
            for (long i = 0; i < target; i++) {
                int pfn = mm.filemap().grabCachePageWriteBegin(m, i);
                TestFs.fill(mm.mem(), mm.pageAddress(pfn), i);
                mm.filemap().setPageDirty(pfn);
                mm.filemap().unlockPage(pfn);
                mm.filemap().putPage(pfn);
            }
            long before = wb.dirtyThrottlePauses();
            wb.balanceDirtyPages(me, m.bdi());
            assertThat(wb.dirtyThrottlePauses()).as("PF_LESS_THROTTLE runs on").isEqualTo(before);
        } finally {
            me.setFlags(saved);
        }
        CountDownLatch throttled = new CountDownLatch(1);
        CountDownLatch finished = new CountDownLatch(1);
        long before = wb.dirtyThrottlePauses();
        k.kthreadRun("dd", self -> {
            throttled.countDown();
            wb.balanceDirtyPages(self, m.bdi());
            finished.countDown();
        });
        assertThat(throttled.await(10, TimeUnit.SECONDS)).isTrue();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (wb.dirtyThrottlePauses() == before && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(wb.dirtyThrottlePauses()).as("an ordinary writer pauses").isGreaterThan(before);
        assertThat(finished.getCount()).as("and stays paused while IO is held").isEqualTo(1);
        fs.openIoGate(gate);
        assertThat(finished.await(20, TimeUnit.SECONDS)).as("writeback catching up releases it").isTrue();
        mm.addressSpaceDestroy(m);
    }

    @Test
    @Timeout(60)
    @Boot(memory = "32m", hungTaskTimeoutMillis = 30_000)
    void secondAccessPromotesAPageAndReclaimPrefersTheInactiveOnes(Kernel k) throws Exception {
        Mm mm = k.mm();
        TestFs fs = new TestFs(k);
        AddressSpace hot = mm.addressSpaceCreate("hot", fs);
        AddressSpace cold = mm.addressSpaceCreate("cold", fs);
        for (long i = 0; i < 256; i++) {
            fs.readPage(hot, i, GFP_KERNEL);
            fs.readPage(hot, i, GFP_KERNEL);
        }
        assertThat(mm.vmstat().get(VmStatItem.NR_ACTIVE_FILE)).isGreaterThanOrEqualTo(256);
        SplittableRandom r = new SplittableRandom(1);
        for (long i = 0; i < 3L * mm.mem().nrPages(); i++) {
            fs.readPage(cold, i, GFP_KERNEL);
            if (r.nextInt(64) == 0) {
                fs.readPage(hot, r.nextLong(256), GFP_KERNEL);
            }
        }
        assertThat(hot.nrpages()).as("the hot file stayed cached").isGreaterThan(200);
        assertThat(cold.nrpages()).isLessThan(mm.mem().nrPages());
        mm.addressSpaceDestroy(hot);
        mm.addressSpaceDestroy(cold);
    }

    @Test
    @Timeout(60)
    @Boot(memory = "16m", kswapd = false, hungTaskTimeoutMillis = 30_000)
    void directReclaimFindingOnlyWritebackThrottlesUnlessPfLessThrottleWritesToAnUncongestedBdi(Kernel k)
            throws Exception {
        Mm mm = k.mm();
        TestFs fs = new TestFs(k);
        AddressSpace m = mm.addressSpaceCreate("stuck", fs);
        Completion gate = fs.closeIoGate();
        long n = mm.pageAlloc().managedPages() / 2;
        for (long i = 0; i < n; i++) {
            int pfn = mm.filemap().grabCachePageWriteBegin(m, i);
            TestFs.fill(mm.mem(), mm.pageAddress(pfn), i);
            mm.filemap().setPageDirty(pfn);
            mm.filemap().unlockPage(pfn);
            mm.filemap().putPage(pfn);
        }
        // Every cached page goes under writeback that cannot complete.
        mm.writeback().writeCachePages(m, new WritebackControl(WritebackControl.SyncMode.WB_SYNC_ALL, false,
                false, Long.MAX_VALUE));
        assertThat(mm.vmstat().get(VmStatItem.NR_WRITEBACK)).isEqualTo(n);
        Task me = k.currentTask();
        int saved = me.flags();
        me.setFlags(saved | TaskFlags.PF_LESS_THROTTLE);
        BackingDevInfo exported = mm.bdiCreate("exported");
        me.setBackingDevInfo(exported);
        long before = mm.reclaimThrottled();
        mm.tryToFreePages(GFP_KERNEL);
        assertThat(mm.reclaimThrottled()).as("PF_LESS_THROTTLE writing to an uncongested bdi is not made to wait")
                .isEqualTo(before);
        me.setBackingDevInfo(null);
        mm.tryToFreePages(GFP_KERNEL);
        long noBdi = mm.reclaimThrottled();
        assertThat(noBdi).as("current_may_throttle(): PF_LESS_THROTTLE without a bdi is throttled")
                .isGreaterThan(before);
        me.setFlags(saved);
        mm.tryToFreePages(GFP_KERNEL);
        assertThat(mm.reclaimThrottled()).as("an ordinary reclaimer waits for the device").isGreaterThan(noBdi);
        fs.openIoGate(gate);
        mm.writeback().filemapWriteAndWait(m);
        mm.addressSpaceDestroy(m);
    }

    @Test
    @Timeout(60)
    @Boot(memory = "16m", kswapd = false, hungTaskTimeoutMillis = 30_000)
    void in43KswapdMarksPagesUnderWritebackThenCountsThemImmediateAndNeitherItNorDirectReclaimWaits(Kernel k) {
        Mm mm = k.mm();
        TestFs fs = new TestFs(k);
        AddressSpace m = mm.addressSpaceCreate("stuck", fs);
        Completion gate = fs.closeIoGate();
        long n = 64;
        for (long i = 0; i < n; i++) {
            assertThat(fs.writePage(m, i, i)).isZero();
        }
        mm.writeback().writeCachePages(m, new WritebackControl(WritebackControl.SyncMode.WB_SYNC_ALL, false,
                false, Long.MAX_VALUE));
        assertThat(mm.vmstat().get(VmStatItem.NR_WRITEBACK)).isEqualTo(n);
        Vmscan vmscan = mm.vmscan();
        // Every pass below meets only pages whose IO cannot complete: a wait would hang the test.
        ScanControl first = new ScanControl(GFP_KERNEL, 0, n, true, true);
        vmscan.shrinkInactiveList(n, first);
        assertThat(first.nrWriteback).as("marked PG_reclaim and kept").isEqualTo(n);
        assertThat(first.nrImmediate).as("the batch sets ZONE_WRITEBACK only now").isZero();
        long throttledBefore = mm.reclaimThrottled();
        ScanControl second = new ScanControl(GFP_KERNEL, 0, n, true, true);
        vmscan.shrinkInactiveList(n, second);
        assertThat(second.nrImmediate).as("PG_reclaim under ZONE_WRITEBACK: nr_immediate, kept").isEqualTo(n);
        assertThat(second.nrReclaimed).isZero();
        assertThat(mm.reclaimThrottled()).as("kswapd backs off in congestion_wait()").isGreaterThan(throttledBefore);
        ScanControl direct = new ScanControl(GFP_KERNEL, 0, n, false, false);
        vmscan.shrinkInactiveList(n, direct);
        assertThat(direct.nrImmediate).as("only kswapd counts nr_immediate").isZero();
        assertThat(direct.nrWriteback).isEqualTo(n);
        vmscan.shrinkNode(new ScanControl(GFP_KERNEL, 0, n, true, true));
        ScanControl afterPass = new ScanControl(GFP_KERNEL, 0, n, true, true);
        vmscan.shrinkInactiveList(ScanControl.SWAP_CLUSTER_MAX, afterPass);
        assertThat(afterPass.nrImmediate).as("kswapd's pass over the zone cleared ZONE_WRITEBACK").isZero();
        assertThat(mm.vmstat().get(VmStatItem.NR_WRITEBACK)).isEqualTo(n);
        fs.openIoGate(gate);
        mm.writeback().filemapWriteAndWait(m);
        mm.addressSpaceDestroy(m);
    }
}
