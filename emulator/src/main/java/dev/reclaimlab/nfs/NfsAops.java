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

    /** nfs_readpages(): readahead's pages go out in async READs of up to rsize. */
    @Override
    public boolean hasReadpages() {
        return true;
    }

    @Override
    public int readpages(AddressSpace mapping, int[] pages, int nrPages) {
        return nfs.read().nfsReadpages(inode, pages, nrPages);
    }

    @Override
    public int writepage(AddressSpace mapping, int page, WritebackControl wbc) {
        return nfs.write().nfsWritepage(inode, page, wbc);
    }

    /** nfs_writepages(): contiguous dirty pages go out in WRITEs of up to wsize. */
    @Override
    public boolean hasWritepages() {
        return true;
    }

    @Override
    public long writepages(AddressSpace mapping, WritebackControl wbc) {
        return nfs.write().nfsWritepages(inode, wbc);
    }

    @Override
    public boolean releasepage(AddressSpace mapping, int page, int gfp) {
        return nfs.file().nfsReleasePage(inode, page, gfp);
    }

    @Override
    public void invalidatepage(AddressSpace mapping, int page) {
        nfs.write().nfsInvalidatePage(inode, page);
    }

    /**
     * nfs_check_dirty_writeback() (3.11+): the page counts as under writeback while the inode has a COMMIT
     * in flight (NFS_INO_COMMIT); otherwise, if it holds a request (PagePrivate: written UNSTABLE, not yet
     * committed), as dirty, since nothing will clean it soon. It only ever adds to PG_dirty and PG_writeback.
     */
    @Override
    public int isDirtyWriteback(AddressSpace mapping, int page) {
        dev.reclaimlab.mm.Filemap fm = nfs.kernel().mm().filemap();
        int dw = (fm.pageDirty(page) ? DIRTY : 0) | (fm.pageWriteback(page) ? WRITEBACK : 0);
        if (inode.testBit(NfsInode.NFS_INO_COMMIT)) {
            return dw | WRITEBACK;
        }
        return fm.pagePrivate(page) ? dw | DIRTY : dw;
    }

    /** nfs_write_inode(). */
    @Override
    public void writeInode(AddressSpace mapping, WritebackControl wbc) {
        nfs.write().nfsWriteInode(inode, wbc);
    }
}
