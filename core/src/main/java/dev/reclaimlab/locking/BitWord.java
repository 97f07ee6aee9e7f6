package dev.reclaimlab.locking;

/**
 * A word of flag bits that tasks sleep on with {@link BitWaitTable} (page->flags, nfs_inode->flags), as
 * wait_on_bit() and wait_on_page_bit() use them. It also says, for the watchdog, who can clear a bit.
 */
public interface BitWord {
    boolean testBit(int bit);

    /** test_and_set_bit(): whether the bit was set already. */
    boolean testAndSetBit(int bit);

    /** The bit's name for reports, e.g. "PG_locked of pfn 12" or "NFS_INO_COMMIT of inode 0:42/7". */
    String bitName(int bit);

    /** Who can clear the bit now (the page lock's holder, the task owed the writeback, the commit's rpc task). */
    void bitWakers(int bit, WakerSink out);
}
