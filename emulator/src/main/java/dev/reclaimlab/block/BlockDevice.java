package dev.reclaimlab.block;

import dev.reclaimlab.mm.BackingDevInfo;

/**
 * struct block_device with its queue's submit path (block/blk-core.c): submitBio() queues the IO and
 * returns; the device's own task completes it with {@link Bio#bioEndio}. Data moves between the device
 * and the bio's pages in kernel memory.
 */
public interface BlockDevice {
    /** "ram0", "loop1". */
    String name();

    /** Capacity in 512-byte sectors. */
    long nrSectors();

    /**
     * blk_get_backing_dev_info(): the bdi of the device's request queue, whose congestion the device sets
     * itself; null for a device that never congests (brd, loop), whose filesystem then keeps its own.
     */
    default BackingDevInfo blkGetBackingDevInfo() {
        return null;
    }

    /** submit_bio(): the device takes the bio (calling bio.setOwner with the task that will end it). */
    void submitBio(Bio bio);

    /** submit_bio_wait(): submits and sleeps until the bio ends; returns its status. */
    default int submitBioWait(Bio bio) {
        submitBio(bio);
        return bio.waitForCompletion();
    }

    /**
     * Checks that a bio lies inside the device (bio_check_eod(), without overflow for a bio near
     * Long.MAX_VALUE sectors); throws naming both otherwise.
     */
    default void checkBio(Bio bio) {
        if (bio == null) {
            throw new IllegalArgumentException(name() + ": submit_bio of a null bio");
        }
        if (bio.ended()) {
            throw new IllegalStateException(name() + ": " + bio + " was already ended; a bio is submitted once");
        }
        long sectors = bio.size() >> Bio.SECTOR_SHIFT;
        if (bio.sector() > nrSectors() - sectors) {
            throw new IllegalArgumentException(name() + ": " + bio + " ends beyond the device's " + nrSectors()
                    + " sectors");
        }
    }
}
