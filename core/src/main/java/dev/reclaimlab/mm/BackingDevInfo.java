package dev.reclaimlab.mm;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * struct backing_dev_info with its one bdi_writeback (mm/backing-dev.c): the dirty and writeback pages of
 * the page caches that write to one device. balance_dirty_pages() throttles a writer by the device it
 * dirties, not only by the global count: a loop device's worker dirtying its backing file is judged by the
 * backing device, not by the loop device's own writeback, which only it can complete.
 *
 * <p>bdi->state holds the congestion bits BDI_async_congested and BDI_sync_congested (Linux 3.14,
 * include/linux/backing-dev.h); {@link BackingDev} sets and clears them and keeps the global count.
 */
public final class BackingDevInfo {
    /** VM_MAX_READAHEAD (128 KiB) in pages: the default bdi->ra_pages of Linux 4.3. */
    public static final int VM_MAX_READAHEAD_PAGES = (128 << 10) / PhysMem.PAGE_SIZE;

    private final String name;
    private final BackingDev owner;
    final AtomicLong dirty = new AtomicLong();
    final AtomicLong writeback = new AtomicLong();
    /** bdi->state: bit BLK_RW_ASYNC is BDI_async_congested, bit BLK_RW_SYNC BDI_sync_congested. */
    final AtomicInteger state = new AtomicInteger();
    /**
     * Counters, not a kernel field: clear_bdi_congested() calls of this bdi that found sleepers on
     * congestion_wqh and woke them, and how many of those found the bit clear already (3.14 wakes anyway).
     */
    final AtomicLong congestionWakeups = new AtomicLong();
    final AtomicLong congestionWakeupsUncongested = new AtomicLong();
    private volatile int raPages = VM_MAX_READAHEAD_PAGES;

    BackingDevInfo(String name, BackingDev owner) {
        this.name = name;
        this.owner = owner;
    }

    BackingDev owner() {
        return owner;
    }

    /** bdi_congested(bdi, 1 << BDI_{a,}sync_congested): {@code sync} is BLK_RW_ASYNC or BLK_RW_SYNC. */
    public boolean congested(int sync) {
        return (state.get() & (1 << BackingDev.checkSync(sync, "bdi_congested"))) != 0;
    }

    /** bdi_write_congested(). */
    public boolean writeCongested() {
        return (state.get() & (1 << BackingDev.BLK_RW_ASYNC)) != 0;
    }

    /**
     * inc_bdi_stat(bdi, BDI_RECLAIMABLE) for a page a filesystem still owes the device although it is not
     * dirty (an NFS page written UNSTABLE and not yet committed): balance_dirty_pages() charges it to
     * this device as it charges dirty pages.
     */
    public void incBdiStatReclaimable() {
        dirty.incrementAndGet();
    }

    /** dec_bdi_stat(bdi, BDI_RECLAIMABLE); refuses to go below zero. */
    public void decBdiStatReclaimable() {
        if (dirty.getAndDecrement() <= 0) {
            dirty.incrementAndGet();
            throw new IllegalStateException("dec_bdi_stat(" + this + ", BDI_RECLAIMABLE): the count is already 0");
        }
    }

    public String name() {
        return name;
    }

    /** How many clear_bdi_congested() calls of this bdi woke congestion_wqh sleepers (a counter, not 3.14's). */
    public long congestionWakeups() {
        return congestionWakeups.get();
    }

    /** Of {@link #congestionWakeups()}, those whose bit was clear already: 3.14 woke the sleepers all the same. */
    public long congestionWakeupsUncongested() {
        return congestionWakeupsUncongested.get();
    }

    /** bdi->ra_pages: the largest readahead window a file on this device gets (0: no readahead). */
    public int raPages() {
        return raPages;
    }

    /** blockdev --setra, in pages. */
    public void setRaPages(int pages) {
        if (pages < 0 || pages > Readahead.MAX_READAHEAD) {
            throw new IllegalArgumentException(this + ": ra_pages " + pages + " outside [0, "
                    + Readahead.MAX_READAHEAD + "]");
        }
        this.raPages = pages;
    }

    /** WB_RECLAIMABLE. */
    public long nrDirty() {
        return dirty.get();
    }

    /** WB_WRITEBACK. */
    public long nrWriteback() {
        return writeback.get();
    }

    @Override
    public String toString() {
        return "bdi " + name;
    }
}
