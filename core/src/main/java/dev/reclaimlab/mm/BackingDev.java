package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Throttle;
import dev.reclaimlab.locking.WaitQueue;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * mm/backing-dev.c's congestion half, as in Linux 3.14 (the same from 2.6.37 to 3.17): each bdi's async and
 * sync congestion bits, the global nr_bdi_congested[2], and congestion_wqh[2] where congestion_wait() and
 * wait_iff_congested() sleep. set_bdi_congested() counts a 0 to 1 change and wakes nobody;
 * clear_bdi_congested() counts a 1 to 0 change and always wakes every sleeper of that direction, even
 * when the bit was clear already, so a stray clear of one device ends the naps of reclaimers throttled by
 * another. Who congests a device is the device's business: the NFS client by its writeback count, a
 * request queue by its request count; RAM disks and loop devices never do.
 *
 * <p>Read (2 December) in torvalds/linux mm/backing-dev.c at 00821b002df7 (3.x; clear_bdi_congested(),
 * congestion_wait() and wait_iff_congested() are the same text from 2.6.37 to 3.17): clear_bdi_congested()
 * does test_and_clear_bit() and then {@code if (waitqueue_active(wqh)) wake_up(wqh)} unconditionally. Its
 * callers that matter here call it far more often than a bit changes: 3.14's fs/nfs/write.c
 * nfs_end_page_writeback() on every WRITE completion while nfss->writeback is below
 * NFS_CONGESTION_OFF_THRESH, and block/blk-core.c __freed_request() (through blk_clear_queue_congested()) on
 * every request freed while the list is below queue_congestion_off_threshold(). Each bdi counts the clears
 * that woke sleepers and how many of them found the bit clear ({@link BackingDevInfo#congestionWakeups()}),
 * so a run can say who ended the naps.
 */
public final class BackingDev {
    /** enum { BLK_RW_ASYNC, BLK_RW_SYNC }: writes, reads. */
    public static final int BLK_RW_ASYNC = 0;
    public static final int BLK_RW_SYNC = 1;

    private final Kernel kernel;
    private final AtomicInteger[] nrBdiCongested = {new AtomicInteger(), new AtomicInteger()};
    private final WaitQueue[] congestionWqh = {new WaitQueue("congestion_wqh[BLK_RW_ASYNC]"),
        new WaitQueue("congestion_wqh[BLK_RW_SYNC]")};
    // Bumped by each clear before it wakes the queue: a sleeper that saw another value was woken.
    private final AtomicLong[] wakeSeq = {new AtomicLong(), new AtomicLong()};
    private final Throttle congestionWaitSite = new Throttle("congestion_wait");
    private final Throttle waitIffCongestedSite = new Throttle("wait_iff_congested");

    BackingDev(Kernel kernel) {
        this.kernel = kernel;
    }

    static int checkSync(int sync, String who) {
        if (sync != BLK_RW_ASYNC && sync != BLK_RW_SYNC) {
            throw new IllegalArgumentException(who + ": direction " + sync + " is not BLK_RW_ASYNC (0) or BLK_RW_SYNC (1)");
        }
        return sync;
    }

    private void checkBdi(BackingDevInfo bdi, String who) {
        if (bdi == null) {
            throw new IllegalArgumentException(who + ": bdi is null");
        }
        if (bdi.owner() != this) {
            throw new IllegalArgumentException(who + "(" + bdi + "): the bdi belongs to another kernel");
        }
    }

    /** set_bdi_congested(): marks {@code bdi} congested for {@code sync}; wakes nobody. */
    public void setBdiCongested(BackingDevInfo bdi, int sync) {
        checkBdi(bdi, "set_bdi_congested");
        int bit = 1 << checkSync(sync, "set_bdi_congested");
        int old = bdi.state.getAndUpdate(s -> s | bit);
        if ((old & bit) == 0) {
            nrBdiCongested[sync].incrementAndGet();
        }
    }

    /**
     * clear_bdi_congested(): clears the bit (counting only a 1 to 0 change), then wakes every task in
     * congestion_wait() or wait_iff_congested() for {@code sync}, whether or not the bit was set.
     */
    public void clearBdiCongested(BackingDevInfo bdi, int sync) {
        checkBdi(bdi, "clear_bdi_congested");
        int bit = 1 << checkSync(sync, "clear_bdi_congested");
        int old = bdi.state.getAndUpdate(s -> s & ~bit);
        if ((old & bit) != 0) {
            nrBdiCongested[sync].decrementAndGet();
        }
        WaitQueue wqh = congestionWqh[sync];
        if (wqh.waitqueueActive()) {
            bdi.congestionWakeups.incrementAndGet();
            if ((old & bit) == 0) {
                bdi.congestionWakeupsUncongested.incrementAndGet();
            }
            wakeSeq[sync].incrementAndGet();
            wqh.wakeUp();
        }
    }

    /** atomic_read(&nr_bdi_congested[sync]): how many bdis are congested for {@code sync}. */
    public int nrBdiCongested(int sync) {
        return nrBdiCongested[checkSync(sync, "nr_bdi_congested")].get();
    }

    /**
     * congestion_wait(sync, timeout): sleeps in D state for up to {@code timeoutJiffies}, ended early by any
     * clear_bdi_congested() of that direction. It sleeps whether or not a device is congested ("just wait
     * for the next write to be completed"). Returns the jiffies left, 0 when it slept the whole timeout.
     */
    public long congestionWait(int sync, long timeoutJiffies) {
        return congestionWait(sync, timeoutJiffies, congestionWaitSite);
    }

    /** As {@link #congestionWait(int, long)}, accounted at the caller's throttle {@code site}. */
    public long congestionWait(int sync, long timeoutJiffies, Throttle site) {
        checkSync(sync, "congestion_wait");
        long nanos = kernel.jiffiesToNanos(timeoutJiffies);
        AtomicLong seq = wakeSeq[sync];
        long seen = seq.get();
        long left = site.throttleOn(congestionWqh[sync], nanos, () -> seq.get() != seen);
        return left / Math.max(1, kernel.jiffiesToNanos(1));
    }

    /**
     * wait_iff_congested(zone, sync, timeout): sleeps as congestion_wait() does only if some bdi is
     * congested for {@code sync} and the zone is ZONE_CONGESTED; otherwise it only offers to reschedule and
     * returns the whole timeout. Both tests are coarse: any congested device counts, and the zone flag
     * stays set until kswapd balances the zone.
     */
    public long waitIffCongested(ZoneFlags zone, int sync, long timeoutJiffies) {
        return waitIffCongested(zone, sync, timeoutJiffies, waitIffCongestedSite);
    }

    /** As {@link #waitIffCongested(ZoneFlags, int, long)}, accounted at the caller's throttle {@code site}. */
    public long waitIffCongested(ZoneFlags zone, int sync, long timeoutJiffies, Throttle site) {
        if (zone == null) {
            throw new IllegalArgumentException("wait_iff_congested: zone is null");
        }
        checkSync(sync, "wait_iff_congested");
        if (nrBdiCongested[sync].get() == 0 || !zone.test(ZoneFlags.ZONE_CONGESTED)) {
            Task.current().mightSleep("wait_iff_congested");
            return timeoutJiffies;
        }
        return congestionWait(sync, timeoutJiffies, site);
    }

    @Override
    public String toString() {
        return "nr_bdi_congested {" + nrBdiCongested[0].get() + ", " + nrBdiCongested[1].get() + "}";
    }
}
