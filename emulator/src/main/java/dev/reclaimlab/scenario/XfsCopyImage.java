package dev.reclaimlab.scenario;

import dev.reclaimlab.block.LoopDevice;
import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.LoopFile;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.fs.xfs.Xfs;
import dev.reclaimlab.fs.xfs.XfsMountOptions;
import dev.reclaimlab.fs.SuperBlock;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.ShrinkControl;

/**
 * One round's copy in xfs/073 on the seed-001 stack (Linux 4.3): {@code copy.img}, a sparse file on the
 * lower XFS, behind {@code loop2}, with a new XFS on it. This model's XFS keeps its metadata in memory, so an
 * image cannot be copied block for block and mounted: the copy is made by copying the tree onto that XFS,
 * then {@link #makeCold} leaves what xfs_copy's O_DIRECT writes and a fresh mount leave.
 */
record XfsCopyImage(Xfs lowerFs, LoopFile backing, LoopDevice loop, Xfs fs) {
    static final String IMAGE = "copy.img";

    /** "create a new image, don't reuse an existing one", losetup it on loop2, mkfs and mount it. */
    static XfsCopyImage create(Kernel k, Xfs lowerFs, long bytes, XfsMountOptions opts) {
        Vfs lower = lowerFs.vfs();
        File img = lower.create("/", IMAGE);
        LoopFile backing;
        try {
            lower.write(img, bytes - 4096, new byte[4096]);
            backing = new LoopFile(lowerFs.sb(), img.inode());
        } finally {
            lower.close(img);
        }
        LoopDevice loop = new LoopDevice(k, 2, backing);
        return new XfsCopyImage(lowerFs, backing, loop, Xfs.mount(k, loop, opts));
    }

    /**
     * The copy synced and made cold: its data written to loop2 and from copy.img's lower cache to ram0, then
     * that cache invalidated (invalidate_mapping_pages() removes shadow entries too, so the tree's nodes go:
     * xfs_copy wrote around the page cache, O_DIRECT), and the copy's own page cache dropped (a fresh mount
     * has none). Returns the pages copy.img's mapping still holds (0 unless one was busy).
     */
    long makeCold() {
        fs.sb().syncFilesystem();
        backing.loopFsync();
        coldMount(fs);
        return fs.kernel().mm().filemap().invalidateMappingPages(backing.inode().mapping(), 0);
    }

    /**
     * What an unmount and a fresh mount leave of {@code xfs} in memory: no page cache (drop_pagecache_sb())
     * and no in-core inode but the busy ones (super_cache_scan() with GFP_KERNEL until it frees nothing:
     * dentries, inodes, then XFS inode reclaim). This model's XFS keeps its metadata in memory, so it cannot
     * be unmounted and mounted again; the lookups that follow find no cached inode, as after a mount.
     * The caller has synced it, so no inode is pinned and nothing waits for the log.
     */
    static void coldMount(Xfs xfs) {
        xfs.sb().dropPagecacheSb();
        for (;;) {
            ShrinkControl sc = new ShrinkControl(Gfp.GFP_KERNEL);
            sc.nrToScan = SuperBlock.SUPER_SHRINK_BATCH;
            if (xfs.sb().shrinker().scanObjects(sc) == 0) {
                return;
            }
        }
    }

    /** "unmounting and removing new image": umount, losetup -d, rm copy.img. */
    void remove() {
        fs.umount();
        loop.loopClrFd();
        backing.release();
        lowerFs.vfs().unlink("/", IMAGE);
    }
}
