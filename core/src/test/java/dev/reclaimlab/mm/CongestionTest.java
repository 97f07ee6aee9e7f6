package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Jiffies;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.locking.WaitKind;
import dev.reclaimlab.locking.WaitRecord;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static dev.reclaimlab.mm.BackingDev.BLK_RW_ASYNC;
import static dev.reclaimlab.mm.BackingDev.BLK_RW_SYNC;
import static dev.reclaimlab.mm.Gfp.GFP_KERNEL;
import static dev.reclaimlab.mm.Gfp.GFP_NOFS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** mm/backing-dev.c congestion, wait_iff_congested(), throttle_vm_writeout() and current_may_throttle() as in 3.14. */
@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m", kswapd = false, version = "3.14", hungTaskTimeoutMillis = 30_000)
class CongestionTest {
    private static final Duration AWAIT = Duration.ofSeconds(20);
    /** A cache whose pages stay dirty: the flusher cannot make a batch's counts change under the test. */
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

    @Test
    void aJiffyIsTenMillisecondsIn314AndOneInTheCompressed43(Kernels kernels) {
        Kernel k314 = kernels.boot(b -> b.version(KernelVersion.V3_14));
        Kernel k43 = kernels.boot(b -> b.version(KernelVersion.V4_3));
        assertThat(k314.jiffiesToNanos(Jiffies.HZ / 10)).isEqualTo(TimeUnit.MILLISECONDS.toNanos(100));
        assertThat(k43.jiffiesToNanos(Jiffies.HZ / 10)).isEqualTo(TimeUnit.MILLISECONDS.toNanos(10));
        assertThat(k314.config().has(Jiffies.COMPRESSED_TIME)).isFalse();
        assertThatThrownBy(() -> k314.jiffiesToNanos(-1)).hasMessageContaining("negative");
    }

    @Test
    void setAndClearCountOnlyChangesOfTheBitPerDirection(Kernel k) {
        BackingDev bd = k.mm().backingDev();
        BackingDevInfo nfs = k.mm().bdiCreate("nfs");
        bd.setBdiCongested(nfs, BLK_RW_ASYNC);
        bd.setBdiCongested(nfs, BLK_RW_ASYNC);
        assertThat(bd.nrBdiCongested(BLK_RW_ASYNC)).isEqualTo(1);
        assertThat(bd.nrBdiCongested(BLK_RW_SYNC)).isZero();
        assertThat(nfs.writeCongested()).isTrue();
        assertThat(nfs.congested(BLK_RW_SYNC)).isFalse();
        bd.clearBdiCongested(nfs, BLK_RW_ASYNC);
        bd.clearBdiCongested(nfs, BLK_RW_ASYNC);
        assertThat(bd.nrBdiCongested(BLK_RW_ASYNC)).isZero();
        assertThat(nfs.writeCongested()).isFalse();
        assertThatThrownBy(() -> bd.setBdiCongested(nfs, 2)).hasMessageContaining("BLK_RW_ASYNC");
        assertThatThrownBy(() -> bd.clearBdiCongested(null, BLK_RW_ASYNC)).hasMessageContaining("bdi is null");
    }

    @Test
    void congestionWaitIsWokenEarlyByAnyClearBdiCongested(Kernel k) throws Exception {
        BackingDev bd = k.mm().backingDev();
        BackingDevInfo other = k.mm().bdiCreate("sda");
        long timeout = 10L * Jiffies.HZ;
        AtomicLong left = new AtomicLong(-1);
        AtomicLong sleptNanos = new AtomicLong();
        CountDownLatch done = new CountDownLatch(1);
        bd.clearBdiCongested(other, BLK_RW_ASYNC);
        assertThat(other.congestionWakeups()).as("a clear with nobody asleep wakes nobody").isZero();
        Task sleeper = k.kthreadRun("reclaimer", t -> {
            long start = System.nanoTime();
            left.set(bd.congestionWait(BLK_RW_ASYNC, timeout));
            sleptNanos.set(System.nanoTime() - start);
            done.countDown();
        });
        WaitRecord.Snapshot s = awaitThrottled(sleeper, "congestion_wait");
        assertThat(s.timed()).as("a timed sleep, never stuck").isTrue();
        // A clear of a bdi that was never congested still wakes every sleeper of the direction.
        bd.clearBdiCongested(other, BLK_RW_ASYNC);
        assertThat(done.await(20, TimeUnit.SECONDS)).isTrue();
        assertThat(other.congestionWakeups()).as("clears that woke sleepers").isEqualTo(1);
        assertThat(other.congestionWakeupsUncongested()).as("of them, with the bit clear already").isEqualTo(1);
        assertThat(left.get()).as("jiffies left").isPositive();
        assertThat(sleptNanos.get()).isLessThan(k.jiffiesToNanos(timeout));
        assertThat(sleeper.throttleAccount().totals().get("congestion_wait")).as("{count, ns, woken early}")
                .satisfies(v -> {
                    assertThat(v[0]).isEqualTo(1);
                    assertThat(v[2]).isEqualTo(1);
                });
    }

    @Test
    void congestionWaitSleepsItsWholeTimeoutWhenNobodyClears(Kernel k) {
        long start = System.nanoTime();
        long left = k.mm().backingDev().congestionWait(BLK_RW_ASYNC, 2);
        assertThat(left).isZero();
        assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(k.jiffiesToNanos(2));
        assertThat(k.currentTask().throttleAccount().totals().get("congestion_wait")[2]).as("not woken early")
                .isZero();
    }

    @Test
    void waitIffCongestedSleepsOnlyWhenSomeBdiIsCongestedAndTheZoneIsZoneCongested(Kernel k) {
        Mm mm = k.mm();
        BackingDev bd = mm.backingDev();
        ZoneFlags zone = mm.zoneFlags();
        BackingDevInfo nfs = mm.bdiCreate("nfs");
        Task me = k.currentTask();
        long timeout = 2;
        assertThat(bd.waitIffCongested(zone, BLK_RW_ASYNC, timeout)).as("neither").isEqualTo(timeout);
        bd.setBdiCongested(nfs, BLK_RW_ASYNC);
        assertThat(bd.waitIffCongested(zone, BLK_RW_ASYNC, timeout)).as("bdi only").isEqualTo(timeout);
        bd.clearBdiCongested(nfs, BLK_RW_ASYNC);
        zone.set(ZoneFlags.ZONE_CONGESTED);
        assertThat(bd.waitIffCongested(zone, BLK_RW_ASYNC, timeout)).as("zone only").isEqualTo(timeout);
        bd.setBdiCongested(nfs, BLK_RW_SYNC);
        assertThat(bd.waitIffCongested(zone, BLK_RW_ASYNC, timeout)).as("other direction").isEqualTo(timeout);
        assertThat(me.throttleAccount().totals()).doesNotContainKey("wait_iff_congested");
        bd.setBdiCongested(nfs, BLK_RW_ASYNC);
        long start = System.nanoTime();
        assertThat(bd.waitIffCongested(zone, BLK_RW_ASYNC, timeout)).as("both: slept it out").isZero();
        assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(k.jiffiesToNanos(timeout));
        assertThat(me.throttleAccount().totals().get("wait_iff_congested")[0]).isEqualTo(1);
    }

    @Test
    void throttleVmWriteoutNapsWhileUnstablePlusWritebackExceedTheLimitAndReturnsOnceTheyDrop(Kernel k)
            throws Exception {
        Mm mm = k.mm();
        Writeback wb = mm.writeback();
        int page = mm.allocPages(GFP_KERNEL, 0);
        long over = 2 * wb.dirtyLimits(k.currentTask())[1] + 100;
        for (long i = 0; i < over; i++) {
            mm.incZonePageState(page, VmStatItem.NR_UNSTABLE_NFS);
        }
        long napsBefore = wb.vmWriteoutThrottled();
        wb.throttleVmWriteout(GFP_NOFS);
        assertThat(wb.vmWriteoutThrottled() - napsBefore).as("a NOFS caller naps once").isEqualTo(1);

        CountDownLatch returned = new CountDownLatch(1);
        Task kernelReclaimer = k.kthreadRun("reclaimer", t -> {
            wb.throttleVmWriteout(GFP_KERNEL);
            returned.countDown();
        });
        awaitThrottled(kernelReclaimer, "congestion_wait (throttle_vm_writeout)");
        Await.until(() -> wb.vmWriteoutThrottled() - napsBefore >= 3, "a GFP_KERNEL caller naps again and again",
                AWAIT);
        assertThat(returned.getCount()).isEqualTo(1);
        // nfsd's COMMIT replies take the pages out of NR_UNSTABLE_NFS.
        for (long i = 0; i < over; i++) {
            mm.decZonePageState(page, VmStatItem.NR_UNSTABLE_NFS);
        }
        assertThat(returned.await(20, TimeUnit.SECONDS)).isTrue();
        assertThat(kernelReclaimer.throttleAccount().totals().get("congestion_wait (throttle_vm_writeout)")[0])
                .isGreaterThanOrEqualTo(2);
        mm.freePages(page, 0);
    }

    @Test
    void unstableNfsIsAccountedOnlyThroughTheFilesystemApi(Kernel k) {
        Mm mm = k.mm();
        int page = mm.allocPages(GFP_KERNEL, 0);
        assertThatThrownBy(() -> mm.incZonePageState(page, VmStatItem.NR_DIRTY)).hasMessageContaining("NR_UNSTABLE_NFS");
        assertThatThrownBy(() -> mm.decZonePageState(page, VmStatItem.NR_UNSTABLE_NFS))
                .hasMessageContaining("already 0");
        mm.incZonePageState(page, VmStatItem.NR_UNSTABLE_NFS);
        assertThat(mm.vmstat().get(VmStatItem.NR_UNSTABLE_NFS)).isEqualTo(1);
        assertThat(mm.meminfo()).contains("NFS_Unstable:");
        mm.decZonePageState(page, VmStatItem.NR_UNSTABLE_NFS);
        mm.freePages(page, 0);
        assertThatThrownBy(() -> mm.incZonePageState(page, VmStatItem.NR_UNSTABLE_NFS))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * A batch of dirty pages on a congested NFS bdi, reclaimed directly by a PF_LESS_THROTTLE task writing to
     * an uncongested exported bdi: 3.14 throttles it in both sleeps of shrink_inactive_list(); with
     * current_may_throttle() it runs on, unless its own bdi is congested too.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aPfLessThrottleReclaimerIsSparedOnlyWithCurrentMayThrottleAndAnUncongestedOwnBdi(boolean fix,
                                                                                         Kernels kernels) {
        Kernel k = kernels.boot(b -> fix ? b.with(Vmscan.CURRENT_MAY_THROTTLE) : b);
        Mm mm = k.mm();
        BackingDevInfo nfs = mm.bdiCreate("nfs");
        BackingDevInfo exported = mm.bdiCreate("xfs");
        AddressSpace m = mm.addressSpaceCreate("nfs-file", NEVER_WRITES);
        m.setBdi(nfs);
        int n = ScanControl.SWAP_CLUSTER_MAX;
        dirtyPages(mm, m, n);
        mm.backingDev().setBdiCongested(nfs, BLK_RW_ASYNC);
        Task me = k.currentTask();
        int saved = me.flags();
        me.setFlags(saved | TaskFlags.PF_LESS_THROTTLE);
        me.setBackingDevInfo(exported);
        ScanControl sc = new ScanControl(GFP_NOFS, 0, n, false, false);
        mm.vmscan().shrinkInactiveList(n, sc);
        assertThat(sc.batchDirty).isEqualTo(n);
        assertThat(sc.batchCongested).as("every page is on the congested NFS bdi").isEqualTo(n);
        assertThat(mm.zoneFlags().test(ZoneFlags.ZONE_CONGESTED)).isTrue();
        assertThat(mm.zoneFlags().test(ZoneFlags.ZONE_TAIL_LRU_DIRTY)).isTrue();
        assertThat(mm.zoneFlags().sets(ZoneFlags.ZONE_CONGESTED)).isEqualTo(1);
        ShrinkStats st = mm.shrinkStats();
        assertThat(st.get(false, ShrinkStats.BATCHES)).isEqualTo(1);
        assertThat(st.get(false, ShrinkStats.TAKEN)).isEqualTo(n);
        assertThat(st.get(false, ShrinkStats.DIRTY)).isEqualTo(n);
        assertThat(st.get(false, ShrinkStats.CONGESTED)).isEqualTo(n);
        assertThat(st.get(false, ShrinkStats.BATCHES_CONGESTED)).isEqualTo(1);
        assertThat(st.get(false, ShrinkStats.RECLAIMED)).isZero();
        assertThat(st.get(true, ShrinkStats.BATCHES)).as("kswapd is off").isZero();
        Map<String, long[]> slept = me.throttleAccount().totals();
        if (fix) {
            assertThat(slept).doesNotContainKeys("wait_iff_congested (shrink_inactive_list)",
                    "congestion_wait (shrink_inactive_list)");
        } else {
            assertThat(slept.get("wait_iff_congested (shrink_inactive_list)")[0]).isEqualTo(1);
            assertThat(slept.get("congestion_wait (shrink_inactive_list)")[0]).as("3.14: the unqueued-dirty stall")
                    .isEqualTo(1);
        }
        // Its own device congested: nfsd is throttled with the fix too, as it should be.
        mm.backingDev().setBdiCongested(exported, BLK_RW_ASYNC);
        mm.vmscan().shrinkInactiveList(n, new ScanControl(GFP_NOFS, 0, n, false, false));
        assertThat(me.throttleAccount().totals().get("wait_iff_congested (shrink_inactive_list)")[0])
                .isEqualTo(fix ? 1 : 2);
        assertThat(mm.zoneFlags().sets(ZoneFlags.ZONE_CONGESTED)).as("it was set already").isEqualTo(1);
        me.setBackingDevInfo(null);
        me.setFlags(saved);
        mm.backingDev().clearBdiCongested(nfs, BLK_RW_ASYNC);
        mm.backingDev().clearBdiCongested(exported, BLK_RW_ASYNC);
        mm.addressSpaceDestroy(m);
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aBatchAllDirtyAndUnqueuedStallsIn314ButNotOnceTheStallWasRemoved(boolean fix, Kernels kernels) {
        Kernel k = kernels.boot(b -> fix ? b.with(Vmscan.NO_UNQUEUED_DIRTY_STALL) : b);
        Mm mm = k.mm();
        AddressSpace m = mm.addressSpaceCreate("file", NEVER_WRITES);
        int n = ScanControl.SWAP_CLUSTER_MAX;
        dirtyPages(mm, m, n);
        Task me = k.currentTask();
        mm.vmscan().shrinkInactiveList(n, new ScanControl(GFP_NOFS, 0, n, false, false));
        Map<String, long[]> slept = me.throttleAccount().totals();
        if (fix) {
            assertThat(slept).doesNotContainKey("congestion_wait (shrink_inactive_list)");
        } else {
            assertThat(slept.get("congestion_wait (shrink_inactive_list)")[0]).isEqualTo(1);
        }
        assertThat(mm.zoneFlags().test(ZoneFlags.ZONE_CONGESTED)).as("no bdi is congested").isFalse();
        assertThat(slept).as("so wait_iff_congested does not sleep").doesNotContainKey(
                "wait_iff_congested (shrink_inactive_list)");
        mm.addressSpaceDestroy(m);
    }

    @Test
    void onlyKswapdOnABalancedZoneClearsZoneCongested(Kernel k) {
        Mm mm = k.mm();
        mm.zoneFlags().set(ZoneFlags.ZONE_CONGESTED);
        mm.zoneFlags().set(ZoneFlags.ZONE_TAIL_LRU_DIRTY);
        mm.vmscan().shrinkNode(new ScanControl(GFP_KERNEL, 0, 32, false, false));
        assertThat(mm.zoneFlags().test(ZoneFlags.ZONE_CONGESTED)).as("direct reclaim leaves it").isTrue();
        mm.vmscan().shrinkNode(new ScanControl(GFP_KERNEL, 0, 32, true, true));
        assertThat(mm.zoneFlags().test(ZoneFlags.ZONE_CONGESTED)).as("kswapd, zone above high").isFalse();
        assertThat(mm.zoneFlags().test(ZoneFlags.ZONE_TAIL_LRU_DIRTY)).isFalse();
        assertThat(mm.zoneFlags().clears(ZoneFlags.ZONE_CONGESTED)).isEqualTo(1);
        mm.vmscan().shrinkNode(new ScanControl(GFP_KERNEL, 0, 32, true, true));
        assertThat(mm.zoneFlags().clears(ZoneFlags.ZONE_CONGESTED)).as("only a set-to-clear change counts")
                .isEqualTo(1);
        assertThat(mm.zoneFlags().sets(ZoneFlags.ZONE_CONGESTED)).isEqualTo(1);
    }

    /**
     * A batch of clean pages on a congested bdi met no dirty page, so it cannot set ZONE_CONGESTED however
     * congested their device: 3.14 needs nr_dirty && nr_dirty == nr_congested. This is why a clean LRU tail keeps
     * the zone uncongested.
     */
    @Test
    void aBatchOfCleanPagesOnACongestedBdiIsReclaimedAndDoesNotSetZoneCongested(Kernel k) {
        Mm mm = k.mm();
        BackingDevInfo nfs = mm.bdiCreate("nfs");
        AddressSpace m = mm.addressSpaceCreate("nfs-file", NEVER_WRITES);
        m.setBdi(nfs);
        int n = ScanControl.SWAP_CLUSTER_MAX;
        for (long i = 0; i < n; i++) {
            int pfn = mm.filemap().grabCachePageWriteBegin(m, i);
            mm.filemap().unlockPage(pfn);
            mm.filemap().putPage(pfn);
        }
        mm.backingDev().setBdiCongested(nfs, BLK_RW_ASYNC);
        mm.vmscan().shrinkInactiveList(n, new ScanControl(GFP_NOFS, 0, n, false, false));
        ShrinkStats st = mm.shrinkStats();
        assertThat(st.get(false, ShrinkStats.CONGESTED)).as("clean pages on a congested bdi count").isEqualTo(n);
        assertThat(st.get(false, ShrinkStats.DIRTY)).isZero();
        assertThat(st.get(false, ShrinkStats.BATCHES_DIRTY)).isZero();
        assertThat(st.get(false, ShrinkStats.RECLAIMED)).isEqualTo(n);
        assertThat(mm.zoneFlags().test(ZoneFlags.ZONE_CONGESTED)).isFalse();
        assertThat(mm.zoneFlags().sets(ZoneFlags.ZONE_CONGESTED)).isZero();
        assertThat(k.currentTask().throttleAccount().totals()).doesNotContainKey(
                "wait_iff_congested (shrink_inactive_list)");
        mm.backingDev().clearBdiCongested(nfs, BLK_RW_ASYNC);
        mm.addressSpaceDestroy(m);
    }

    private static void dirtyPages(Mm mm, AddressSpace m, int n) {
        for (long i = 0; i < n; i++) {
            int pfn = mm.filemap().grabCachePageWriteBegin(m, i);
            mm.filemap().setPageDirty(pfn);
            mm.filemap().unlockPage(pfn);
            mm.filemap().putPage(pfn);
        }
    }

    private static WaitRecord.Snapshot awaitThrottled(Task t, String site) {
        WaitRecord.Snapshot[] out = new WaitRecord.Snapshot[1];
        Await.until(() -> {
            WaitRecord.Snapshot s = t.waitRecord().snapshot();
            if (s != null && s.kind() == WaitKind.THROTTLE && s.on().name().equals(site)) {
                out[0] = s;
                return true;
            }
            return false;
        }, t + " throttled in " + site, AWAIT);
        return out[0];
    }

    @Test
    void theDirtyRatioSysctlsMoveTheThresholdsAndRefuseWhatTheKernelRefuses(Kernel k) {
        Writeback wb = k.mm().writeback();
        Task me = k.currentTask();
        long[] boot = wb.dirtyLimits(me);
        assertThat(wb.dirtyRatio()).isEqualTo(Writeback.DIRTY_RATIO);
        assertThat(boot[0] * 2).as("10 %% against 20 %%").isBetween(boot[1] - 1, boot[1] + 1);
        wb.setDirtyRatio(50);
        wb.setDirtyBackgroundRatio(25);
        long[] raised = wb.dirtyLimits(me);
        // Free memory may move by a few pages between the two reads (the kernel's own threads allocate).
        assertThat((double) raised[1] / boot[1]).as("50 %% against 20 %%").isBetween(2.45, 2.55);
        assertThat(raised[0]).isBetween(raised[1] / 2 - 1, raised[1] / 2 + 1);
        // global_dirty_limits(): a background ratio at or over the dirty one gives half the dirty threshold.
        wb.setDirtyBackgroundRatio(80);
        assertThat(wb.dirtyLimits(me)[0]).isEqualTo(wb.dirtyLimits(me)[1] / 2);
        assertThatThrownBy(() -> wb.setDirtyRatio(101)).hasMessageContaining("vm.dirty_ratio: 101 is outside [0, 100]");
        assertThatThrownBy(() -> wb.setDirtyBackgroundRatio(-1)).hasMessageContaining("vm.dirty_background_ratio: -1");
        assertThat(wb.dirtyRatio()).as("a refused write changes nothing").isEqualTo(50);
    }
}
