package dev.reclaimlab.nfs;

import dev.reclaimlab.mm.AddressSpace;
import dev.reclaimlab.mm.AddressSpaceOperations;
import dev.reclaimlab.mm.WritebackControl;

/** nfs_file_aops (fs/nfs/file.c, Linux 3.14) of one NFS inode. */
final class NfsAops implements AddressSpaceOperations {
    private final NfsClient nfs;
    private final NfsInode inode;

    NfsAops(NfsClient nfs, NfsInode inode) {
        this.nfs = nfs;
        this.inode = inode;
    }

    /** nfs_readpage(): a sync READ; the page is unlocked either way. */
    @Override
    public int readpage(AddressSpace mapping, int page) {
        int err = nfs.file().nfsReadpageSync(inode, page, nfs.kernel().mm().filemap().pageIndex(page));
        if (err == 0) {
            nfs.kernel().mm().filemap().setPageUptodate(page);
        }
        nfs.kernel().mm().filemap().unlockPage(page);
        return err;
    }

    @Override
    public int writepage(AddressSpace mapping, int page, WritebackControl wbc) {
        return nfs.write().nfsWritepage(inode, page, wbc);
    }

    @Override
    public boolean releasepage(AddressSpace mapping, int page, int gfp) {
        return nfs.file().nfsReleasePage(inode, page, gfp);
    }

    @Override
    public void invalidatepage(AddressSpace mapping, int page) {
        nfs.write().nfsInvalidatePage(inode, page);
    }

    /** nfs_write_inode(). */
    @Override
    public void writeInode(AddressSpace mapping, WritebackControl wbc) {
        nfs.write().nfsWriteInode(inode, wbc);
    }
}
