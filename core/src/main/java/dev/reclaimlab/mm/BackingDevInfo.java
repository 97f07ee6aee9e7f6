package dev.reclaimlab.mm;

import java.util.concurrent.atomic.AtomicLong;

/**
 * struct backing_dev_info with its one bdi_writeback (mm/backing-dev.c): the dirty and writeback pages of
 * the page caches that write to one device. balance_dirty_pages() throttles a writer by the device it
 * dirties, not only by the global count: a loop device's worker dirtying its backing file is judged by the
 * backing device, not by the loop device's own writeback, which only it can complete.
 */
public final class BackingDevInfo {
    /** VM_MAX_READAHEAD (128 KiB) in pages: the default bdi->ra_pages of Linux 4.3. */
    public static final int VM_MAX_READAHEAD_PAGES = (128 << 10) / PhysMem.PAGE_SIZE;

    private final String name;
    final AtomicLong dirty = new AtomicLong();
    final AtomicLong writeback = new AtomicLong();
    private volatile int raPages = VM_MAX_READAHEAD_PAGES;

    BackingDevInfo(String name) {
        this.name = name;
    }

    public String name() {
        return name;
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
