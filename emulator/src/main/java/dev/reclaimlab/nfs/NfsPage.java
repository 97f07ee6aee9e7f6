package dev.reclaimlab.nfs;

/**
 * struct nfs_page (include/linux/nfs_page.h, Linux 3.14): the request that owns one page of an NFS file from
 * its first write until a COMMIT (or a stable WRITE) makes the data safe; while it exists the page is
 * PagePrivate. Its fields are under the inode's i_lock.
 */
final class NfsPage {
    final int pfn;
    final long index;
    /** Bytes of the page the request covers (wb_bytes). */
    int bytes;
    /** A WRITE for it is in flight (PG_BUSY). */
    boolean busy;
    /** On the inode's commit list (PG_CLEAN), counted in NR_UNSTABLE_NFS. */
    boolean onCommitList;
    /** Taken off the commit list by nfs_scan_commit() into a COMMIT in flight. */
    boolean committing;
    /** The verifier of the WRITE that left it unstable. */
    long verf;

    NfsPage(int pfn, long index) {
        this.pfn = pfn;
        this.index = index;
    }

    @Override
    public String toString() {
        return "nfs_page pfn " + pfn + " index " + index;
    }
}
