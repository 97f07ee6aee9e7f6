package dev.reclaimlab.block.request;

import dev.reclaimlab.block.Bio;
import dev.reclaimlab.fs.buffer.BufferHead;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.WakerSink;

/**
 * struct request as in Linux 2.2 (include/linux/blkdev.h): one slot of the global all_requests[] pool,
 * here always for one buffer head (2.2 merged adjacent buffers into a request; this emulator does not).
 * While it is active it says who owes its end: the task sending it (nbd in the submitter's context), the
 * nbd-client that will read its reply, the disk's worker, or nobody yet while it sits behind a plug.
 */
public final class Request {
    final int slot;
    volatile boolean active;
    int cmd;
    BlockDriver22 dev;
    long sector;
    int nrSectors;
    BufferHead bh;
    int errors;
    // Who ends it now; null with plugged set while it waits for tq_disk.
    private volatile Task owner;
    private volatile boolean plugged;
    volatile Bio bio;

    Request(int slot) {
        this.slot = slot;
    }

    public int cmd() {
        return cmd;
    }

    public BlockDriver22 dev() {
        return dev;
    }

    public long sector() {
        return sector;
    }

    public int nrSectors() {
        return nrSectors;
    }

    public BufferHead bh() {
        return bh;
    }

    public int errors() {
        return errors;
    }

    public void addError() {
        errors++;
    }

    public void clearErrors() {
        errors = 0;
    }

    /** The slot number, which nbd sends as the request's handle. */
    public int slot() {
        return slot;
    }

    /** The request is now owed by {@code t}. */
    public void setOwner(Task t) {
        owner = t;
        plugged = false;
    }

    void setPlugged() {
        owner = null;
        plugged = true;
    }

    public Task owner() {
        return owner;
    }

    /** Who can end this request now, for a task waiting on its buffer. */
    public void wakers(WakerSink out) {
        Bio b = bio;
        Task o = b != null ? b.owner() : owner;
        if (o != null) {
            out.add(o);
        } else if (plugged) {
            out.open("plugged on tq_disk: whoever runs tq_disk starts it");
        }
    }

    @Override
    public String toString() {
        return "request " + slot + " " + (cmd == Blk22.READ ? "READ" : "WRITE") + " " + (dev == null ? "?" : dev.name())
                + " sector " + sector;
    }
}
