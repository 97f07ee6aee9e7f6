package dev.reclaimlab.mm;

import java.util.concurrent.atomic.AtomicLong;

/**
 * struct backing_dev_info with its one bdi_writeback (mm/backing-dev.c): the dirty and writeback pages of
 * the page caches that write to one device. balance_dirty_pages() throttles a writer by the device it
 * dirties, not only by the global count: a loop device's worker dirtying its backing file is judged by the
 * backing device, not by the loop device's own writeback, which only it can complete.
 */
public final class BackingDevInfo {
    private final String name;
    final AtomicLong dirty = new AtomicLong();
    final AtomicLong writeback = new AtomicLong();

    BackingDevInfo(String name) {
        this.name = name;
    }

    public String name() {
        return name;
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
