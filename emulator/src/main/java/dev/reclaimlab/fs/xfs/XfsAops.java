package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.block.Bio;
import dev.reclaimlab.fs.Mpage;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.KernelPanic;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.mm.AddressSpace;
import dev.reclaimlab.mm.AddressSpaceOperations;
import dev.reclaimlab.mm.Filemap;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.mm.WritebackControl;

/**
 * xfs_address_space_operations (fs/xfs/xfs_aops.c, Linux 4.3) for one inode: readpages and readpage are
 * mpage_readpages()/mpage_readpage() over xfs_get_blocks() (a hole reads as zeros; a read's completion
 * sets its pages uptodate and unlocks them); writepage maps the page to a block, allocating one in a
 * logged transaction if needed, and writes it with a bio that owes the page's writeback (waiters name
 * every task the bio names). File data is real: every byte goes through the device.
 */
final class XfsAops implements AddressSpaceOperations {
    /** mapping_set_gfp_mask() in xfs_setup_inode(): page-cache allocations must not recurse into the fs. */
    static final int XFS_MAPPING_GFP = Gfp.GFP_NOFS;
    static final int BLOCK_SHIFT = PhysMem.PAGE_SHIFT;
    static final int SECTORS_PER_BLOCK = 1 << (BLOCK_SHIFT - Bio.SECTOR_SHIFT);

    private final Xfs mp;
    private final XfsInode ip;
    private final Filemap fm;
    private final Mpage mpage;

    XfsAops(Xfs mp, XfsInode ip) {
        this.mp = mp;
        this.ip = ip;
        this.fm = mp.kernel().mm().filemap();
        this.mpage = new Mpage(mp.kernel(), mp.bdev(), this::xfsGetBlocks, mp.readErrors::incrementAndGet);
    }

    @Override
    public int readpage(AddressSpace mapping, int page) {
        return xfsVmReadpage(page);
    }

    @Override
    public boolean hasReadpages() {
        return true;
    }

    @Override
    public int readpages(AddressSpace mapping, int[] pages, int nrPages) {
        return xfsVmReadpages(mapping, pages, nrPages);
    }

    /** xfs_vm_readpages() -> mpage_readpages(mapping, pages, nr_pages, xfs_get_blocks). */
    int xfsVmReadpages(AddressSpace mapping, int[] pages, int nrPages) {
        return mpage.mpageReadpages(mapping, pages, nrPages);
    }

    /** xfs_get_blocks() for a read: the first sector of the block under file block {@code index}, or a hole. */
    long xfsGetBlocks(long index) {
        long block = xfsBmapiRead(index);
        return block == XfsDinode.HOLE ? Mpage.GetBlock.HOLE : mp.blockToSector(block);
    }

    @Override
    public int writepage(AddressSpace mapping, int page, WritebackControl wbc) {
        return xfsVmWritepage(page, wbc);
    }

    /** xfs_vm_readpage() -> mpage_readpage(): the locked page is unlocked when its read ends. */
    int xfsVmReadpage(int page) {
        return mpage.mpageReadpage(page);
    }

    /**
     * block_write_begin()'s read of a partly overwritten page: the caller holds the page lock and fills
     * the page from its block, or zeroes it for a hole. Returns 0 or -EIO.
     */
    int xfsReadBlockSync(int page, long index) {
        long block = xfsBmapiRead(index);
        if (block == XfsDinode.HOLE) {
            mp.kernel().mm().mem().memset(mp.kernel().mm().pageAddress(page), 0, PhysMem.PAGE_SIZE);
            return 0;
        }
        Bio bio = new Bio(Bio.Op.READ, mp.blockToSector(block), 1);
        bio.addPage(page, PhysMem.PAGE_SIZE, 0);
        if (mp.bdev().submitBioWait(bio) != 0) {
            mp.readErrors.incrementAndGet();
            return -Errno.EIO;
        }
        return 0;
    }

    /** xfs_bmapi_read() under XFS_ILOCK_SHARED (xfs_ilock_data_map_shared()). */
    long xfsBmapiRead(long index) {
        ip.xfsIlock(XfsInode.XFS_ILOCK_SHARED);
        try {
            return ip.dinode().bmapRead(index);
        } finally {
            ip.xfsIunlock(XfsInode.XFS_ILOCK_SHARED);
        }
    }

    /**
     * xfs_vm_writepage(): refuses direct reclaim and transaction context (redirty), maps or allocates the
     * block, sets writeback, unlocks the page and submits the write. The writeback is owed by the bio,
     * i.e. by whoever holds or may take it as it moves; its completion ends writeback and records an IO
     * error for fsync.
     */
    int xfsVmWritepage(int page, WritebackControl wbc) {
        Task t = Task.current();
        int f = t.flags();
        if ((f & (TaskFlags.PF_MEMALLOC | TaskFlags.PF_KSWAPD)) == TaskFlags.PF_MEMALLOC
                || ((f & TaskFlags.PF_MEMALLOC_NOFS) != 0 && !t.kernel().config().has(Xfs.PF_FSTRANS_UNIVERSAL))) {
            return AOP_WRITEPAGE_ACTIVATE;
        }
        if (mp.forcedShutdown()) {
            // xfs_vm_writepage() on a shut-down filesystem: the data is lost, fsync says so.
            ip.setWbErr(-Errno.EIO);
            fm.unlockPage(page);
            return 0;
        }
        Bio bio;
        try {
            long index = fm.pageIndex(page);
            long block = xfsBmapiRead(index);
            if (block == XfsDinode.HOLE) {
                block = xfsIomapWriteAllocate(index);
                if (block < 0) {
                    ip.setWbErr((int) block);
                    mp.writeErrors.incrementAndGet();
                    fm.unlockPage(page);
                    return 0;
                }
            }
            bio = new Bio(Bio.Op.WRITE, mp.blockToSector(block), 1);
            bio.addPage(page, PhysMem.PAGE_SIZE, 0);
            if (wbc.syncMode == WritebackControl.SyncMode.WB_SYNC_ALL) {
                // xfs_submit_ioend(): WRITE_SYNC for data integrity writeback, WRITE for background.
                bio.setReqSync();
            }
        } catch (KernelPanic p) {
            throw p;
        } catch (RuntimeException e) {
            // Never leave the page locked or the flusher dead: the error goes to fsync.
            mp.kernel().oops(e);
            ip.setWbErr(-Errno.EIO);
            mp.writeErrors.incrementAndGet();
            fm.unlockPage(page);
            return 0;
        }
        fm.setPageWriteback(page, t);
        fm.unlockPage(page);
        fm.setPageWritebackOwedBy(page, bio);
        bio.setEndIo(b -> xfsEndIo(b, page));
        try {
            mp.bdev().submitBio(bio);
        } catch (KernelPanic p) {
            throw p;
        } catch (RuntimeException e) {
            if (!bio.ended()) {
                mp.kernel().oops(e);
                bio.bioEndio(-Errno.EIO);
            }
        }
        return 0;
    }

    /** xfs_end_io() for a data write. */
    private void xfsEndIo(Bio bio, int page) {
        if (bio.status() != 0) {
            ip.setWbErr(bio.status());
            mp.writeErrors.incrementAndGet();
        }
        fm.endPageWriteback(page);
    }

    /** xfs_iomap_write_allocate(): a block for file block {@code index} in a logged transaction; or -ENOSPC. */
    long xfsIomapWriteAllocate(long index) {
        try (XfsTrans tp = XfsTrans.xfsTransAlloc(mp)) {
            ip.xfsIlock(XfsInode.XFS_ILOCK_EXCL);
            tp.xfsTransIjoin(ip, XfsInode.XFS_ILOCK_EXCL);
            long block = ip.dinode().bmapRead(index);
            if (block != XfsDinode.HOLE) {
                tp.xfsTransCancel();
                return block;
            }
            block = mp.xfsAllocVextent();
            if (block < 0) {
                tp.xfsTransCancel();
                return block;
            }
            try {
                ip.dinode().bmapSet(index, block);
            } catch (RuntimeException | Error e) {
                // Never leak the block the map did not take.
                mp.xfsFreeExtents(java.util.List.of(new long[] {block, 1}));
                throw e;
            }
            tp.xfsTransLogInode(ip);
            tp.xfsTransCommit();
            return block;
        }
    }
}
