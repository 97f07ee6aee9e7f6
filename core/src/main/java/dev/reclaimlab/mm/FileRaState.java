package dev.reclaimlab.mm;

/**
 * struct file_ra_state (include/linux/fs.h, Linux 4.3): one open file's readahead window. {@code start}
 * and {@code size} are the last window read, in pages; {@code asyncSize} pages before its end carry the
 * PG_readahead marker that starts the next one; {@code prevPos} is the byte after the last read.
 *
 * <p>Like the kernel's, it is updated without a lock: tasks reading one file at once (two loop workers on
 * the backing file) race on it, and the worst they do is pick a worse window.
 */
public final class FileRaState {
    long start;
    int size;
    int asyncSize;
    int raPages;
    long prevPos = -1;

    /** file_ra_state_init(): at open, the window limit of the file's device. */
    public FileRaState(AddressSpace mapping) {
        if (mapping == null) {
            throw new IllegalArgumentException("file_ra_state_init: no mapping (a directory has no page cache)");
        }
        this.raPages = mapping.bdi().raPages();
    }

    public long start() {
        return start;
    }

    public int size() {
        return size;
    }

    public int asyncSize() {
        return asyncSize;
    }

    /** ra->ra_pages: 0 turns readahead off for this file. */
    public int raPages() {
        return raPages;
    }

    public long prevPos() {
        return prevPos;
    }

    @Override
    public String toString() {
        return "ra start " + start + " size " + size + " async " + asyncSize + " max " + raPages + " prev_pos "
                + prevPos;
    }
}
