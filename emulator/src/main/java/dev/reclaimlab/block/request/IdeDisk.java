package dev.reclaimlab.block.request;

import dev.reclaimlab.block.Bio;
import dev.reclaimlab.block.RamDisk;
import dev.reclaimlab.fs.buffer.BufferHead;
import dev.reclaimlab.mm.PhysMem;

import java.util.ArrayList;
import java.util.List;

/**
 * A local disk as a Linux 2.2 IDE driver looks to ll_rw_blk.c ("hda1"): the first request to an idle
 * disk plugs it, requests queue behind the plug, and tq_disk starts them. The medium is a {@link RamDisk}
 * outside the kernel's memory budget, whose worker plays the interrupt: it moves the data and ends the
 * request, so a task waiting for local IO names a task that will run again by itself.
 */
public final class IdeDisk extends BlockDriver22 {
    private final RamDisk medium;
    // current_request behind the plug; under io_request_lock.
    private final List<Request> queue = new ArrayList<>();
    private boolean plugged;

    public IdeDisk(Blk22 blk, String name, RamDisk medium, int blockSize) {
        super(blk, name, blockSize, medium.nrSectors() << Bio.SECTOR_SHIFT);
        this.medium = medium;
    }

    public RamDisk medium() {
        return medium;
    }

    @Override
    public boolean isNbd() {
        return false;
    }

    @Override
    protected void addRequest(Request req) {
        blk.ioRequestLock().spinLock();
        try {
            if (queue.isEmpty() && !plugged) {
                plugged = true;
                blk.plug(this);
            }
            req.setPlugged();
            queue.add(req);
        } finally {
            blk.ioRequestLock().spinUnlock();
        }
    }

    @Override
    protected void unplug() {
        List<Request> go;
        blk.ioRequestLock().spinLock();
        try {
            plugged = false;
            go = new ArrayList<>(queue);
            queue.clear();
        } finally {
            blk.ioRequestLock().spinUnlock();
        }
        for (Request r : go) {
            start(r);
        }
    }

    /** The request function: hands the buffer's bytes to the medium; its worker ends the request. */
    private void start(Request r) {
        BufferHead bh = r.bh();
        int pfn = bh.pfn();
        int off = (int) (bh.data() & (PhysMem.PAGE_SIZE - 1));
        Bio bio = new Bio(r.cmd() == Blk22.READ ? Bio.Op.READ : Bio.Op.WRITE, r.sector(), 1);
        bio.addPage(pfn, bh.size(), off);
        bio.setEndIo(b -> blk.endRequest(r, b.status() == 0));
        r.bio = bio;
        medium.submitBio(bio);
    }
}
