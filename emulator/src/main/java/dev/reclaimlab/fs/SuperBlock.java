package dev.reclaimlab.fs;

import dev.reclaimlab.block.BlockDevice;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.RwSemaphore;
import dev.reclaimlab.locking.SpinLock;
import dev.reclaimlab.mm.AddressSpace;
import dev.reclaimlab.mm.BackingDevInfo;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.KmemCache;
import dev.reclaimlab.mm.Mm;
import dev.reclaimlab.mm.ShrinkControl;
import dev.reclaimlab.mm.Shrinker;
import dev.reclaimlab.mm.SlabFlags;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * struct super_block (fs/super.c, fs/inode.c): one mounted filesystem, its block device, its inodes
 * (s_inodes and the unused-inode LRU), its dentries ({@link Dcache}) and its shrinker. The shrinker is
 * super_cache_count()/super_cache_scan(): without __GFP_FS it does nothing, otherwise it prunes unused
 * dentries, then unused inodes (evicting them through the filesystem), then the filesystem's own cached
 * objects (XFS's reclaimable inodes). {@link #inodeLock} guards i_count, i_state and the lists; nothing
 * sleeps or allocates under it.
 */
public final class SuperBlock {
    private static final LockClassKey INODE_LOCK_KEY = new LockClassKey("&sb->s_inode_list_lock");

    private final Kernel kernel;
    private final FileSystemType type;
    private final BlockDevice bdev;
    private final BackingDevInfo bdi;
    private final String id;
    private final SuperOperations sops;
    private final InodeOperations dirOps;
    private final FileOperations fileOps;
    private final RwSemaphore sUmount;
    final SpinLock inodeLock = new SpinLock("inode_lock", INODE_LOCK_KEY);
    private final LinkedHashSet<Inode> sInodes = new LinkedHashSet<>();
    private final LinkedHashSet<Inode> inodeLru = new LinkedHashSet<>();
    private volatile long nrInodesUnused;
    private final Dcache dcache;
    private final Shrinker shrinker;
    private volatile boolean active;
    private volatile boolean exported;
    private volatile long maxBytes = ReadWrite.MAX_LFS_FILESIZE;
    private Dentry root;

    /** sget() + the filesystem's fill_super(): {@link #setRoot} and {@link #activate} finish the mount. */
    public SuperBlock(Kernel kernel, FileSystemType type, BlockDevice bdev, String id, SuperOperations sops,
            InodeOperations dirOps, FileOperations fileOps) {
        this.kernel = kernel;
        this.type = type;
        this.bdev = bdev;
        this.id = id;
        this.sops = sops;
        this.dirOps = dirOps;
        this.fileOps = fileOps;
        this.sUmount = new RwSemaphore("&type->s_umount_key", type.sUmountKey);
        this.dcache = new Dcache(this);
        this.shrinker = new SuperShrinker();
        BackingDevInfo queueBdi = bdev == null ? null : bdev.blkGetBackingDevInfo();
        this.bdi = queueBdi != null ? queueBdi : kernel.mm().bdiCreate(bdev == null ? id : bdev.name());
    }

    /** s_bdi: the writeback accounting of the device this filesystem writes to. */
    public BackingDevInfo bdi() {
        return bdi;
    }

    /**
     * kmem_cache_create() once per kernel: the cache named {@code name} if one exists, else a new
     * reclaimable one. Two first mounts racing may each create one; both work.
     */
    public static KmemCache kmemCacheGet(Mm mm, String name, int size) {
        return kmemCacheGet(mm, name, size, SlabFlags.SLAB_RECLAIM_ACCOUNT);
    }

    /** The same with the cache's flags given (0 for a zone of objects no shrinker frees, as kmem_zone_init()). */
    public static KmemCache kmemCacheGet(Mm mm, String name, int size, int flags) {
        for (KmemCache c : mm.slub().caches()) {
            if (c != null && c.name().equals(name)) {
                return c;
            }
        }
        return mm.kmemCacheCreate(name, size, 0, flags);
    }

    public Kernel kernel() {
        return kernel;
    }

    public FileSystemType type() {
        return type;
    }

    public BlockDevice bdev() {
        return bdev;
    }

    /** s_id: the device name. */
    public String id() {
        return id;
    }

    public InodeOperations dirOps() {
        return dirOps;
    }

    public FileOperations fileOps() {
        return fileOps;
    }

    public Dcache dcache() {
        return dcache;
    }

    /** The superblock shrinker ("super_cache_scan-xfs"), registered while mounted. */
    public Shrinker shrinker() {
        return shrinker;
    }

    /** s_umount. */
    public RwSemaphore sUmount() {
        return sUmount;
    }

    /** s_maxbytes: the largest file size; writes at or beyond it get -EFBIG. */
    public long maxBytes() {
        return maxBytes;
    }

    /** fill_super() sets s_maxbytes; a test may lower it on a mounted filesystem. */
    public void setMaxBytes(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException(id + ": s_maxbytes " + bytes);
        }
        this.maxBytes = bytes;
    }

    /** SB_ACTIVE: mounted and not being unmounted. */
    public boolean active() {
        return active;
    }

    /** Exported by nfsd (exportfs): its directory locks are ones a loop-back nfsd may need. */
    public boolean exported() {
        return exported;
    }

    public void setExported(boolean on) {
        this.exported = on;
    }

    /** s_root, pinned by the superblock. */
    public Dentry root() {
        return root;
    }

    /** d_make_root(): the root dentry over the referenced {@code inode}. */
    public void setRoot(Inode inode) {
        Dentry d = dcache.dAlloc(null, "/", Gfp.GFP_KERNEL);
        if (d == null) {
            iput(inode);
            throw new VfsException(-Errno.ENOMEM, "d_make_root(" + id + ")");
        }
        dcache.dAdd(d, inode);
        this.root = d;
    }

    /** SB_BORN + SB_ACTIVE: the mount is complete; registers the shrinker. */
    public void activate() {
        if (root == null) {
            throw new IllegalStateException(id + ": activate() before setRoot()");
        }
        active = true;
        kernel.mm().shrinkers().registerShrinker(shrinker);
    }

    // ---------------------------------------------------------------- inodes (fs/inode.c)

    /** iget(): the referenced in-core inode {@code ino}, or null if none exists. */
    public Inode iget(long ino) {
        return sops.iget(this, ino, Gfp.GFP_KERNEL);
    }

    /** Inodes in use or cached (s_inodes). */
    public long nrInodes() {
        inodeLock.spinLock();
        try {
            return sInodes.size();
        } finally {
            inodeLock.spinUnlock();
        }
    }

    /** Unused inodes on the LRU. */
    public long nrInodesUnused() {
        return nrInodesUnused;
    }

    /** inode_sb_list_add() for a new inode, returned to the caller with one reference. */
    public void iNew(Inode inode) {
        inodeLock.spinLock();
        try {
            inode.iCount = 1;
            inode.state = 0;
            sInodes.add(inode);
        } finally {
            inodeLock.spinUnlock();
        }
    }

    /** igrab(): a reference unless the inode is being freed; takes it off the LRU. */
    public boolean igrab(Inode inode) {
        inodeLock.spinLock();
        try {
            if ((inode.state & (Inode.I_FREEING | Inode.I_WILL_FREE)) != 0 || !sInodes.contains(inode)) {
                return false;
            }
            inode.iCount++;
            lruDelLocked(inode);
            return true;
        } finally {
            inodeLock.spinUnlock();
        }
    }

    /** ihold(): another reference to an inode the caller holds one on. */
    public void ihold(Inode inode) {
        inodeLock.spinLock();
        try {
            if (inode.iCount <= 0) {
                throw new IllegalStateException("ihold(" + inode + "): caller holds no reference");
            }
            inode.iCount++;
        } finally {
            inodeLock.spinUnlock();
        }
    }

    /**
     * iput(): drops a reference. At zero an unlinked inode (or any, while unmounting) is evicted at once;
     * a linked one goes on the unused LRU for the shrinker.
     */
    public void iput(Inode inode) {
        inodeLock.spinLock();
        try {
            if (inode.iCount <= 0) {
                throw new IllegalStateException("iput(" + inode + "): i_count is already " + inode.iCount);
            }
            if (--inode.iCount > 0) {
                return;
            }
            if (inode.nlink() > 0 && active) {
                inodeLru.add(inode);
                inode.onLru = true;
                nrInodesUnused = inodeLru.size();
                return;
            }
            inode.state |= Inode.I_FREEING;
        } finally {
            inodeLock.spinUnlock();
        }
        evict(inode);
    }

    private void lruDelLocked(Inode inode) {
        if (inode.onLru) {
            inodeLru.remove(inode);
            inode.onLru = false;
            nrInodesUnused = inodeLru.size();
        }
    }

    /** evict(): truncates the page cache, lets the filesystem release the inode, and forgets it. */
    private void evict(Inode inode) {
        AddressSpace m = inode.mapping();
        if (m != null) {
            kernel.mm().addressSpaceDestroy(m);
            inode.clearMapping();
        }
        sops.evictInode(inode);
        inodeLock.spinLock();
        try {
            sInodes.remove(inode);
            inode.state = Inode.I_FREEING | Inode.I_CLEAR;
        } finally {
            inodeLock.spinUnlock();
        }
        sops.destroyInode(inode);
    }

    /**
     * prune_icache_sb(): looks at up to {@code nrToScan} unused inodes from the LRU's cold end. Clean ones
     * are evicted; one whose page cache still holds dirty or writeback pages after
     * invalidate_mapping_pages() rotates to the other end until writeback cleans it. Returns the evicted.
     */
    public long pruneIcacheSb(long nrToScan) {
        long freed = 0;
        for (long i = 0; i < nrToScan; i++) {
            Inode inode;
            AddressSpace m;
            boolean evictNow;
            inodeLock.spinLock();
            try {
                Iterator<Inode> it = inodeLru.iterator();
                if (!it.hasNext()) {
                    break;
                }
                inode = it.next();
                lruDelLocked(inode);
                if (inode.iCount > 0 || (inode.state & (Inode.I_FREEING | Inode.I_WILL_FREE)) != 0) {
                    continue;
                }
                m = inode.mapping();
                evictNow = m == null || m.nrpages() == 0;
                if (evictNow) {
                    inode.state |= Inode.I_FREEING;
                } else {
                    inode.iCount++;
                }
            } finally {
                inodeLock.spinUnlock();
            }
            if (!evictNow) {
                long left = kernel.mm().filemap().invalidateMappingPages(m, 0);
                inodeLock.spinLock();
                try {
                    if (--inode.iCount > 0) {
                        continue;
                    }
                    if (left > 0) {
                        inodeLru.add(inode);
                        inode.onLru = true;
                        nrInodesUnused = inodeLru.size();
                        continue;
                    }
                    inode.state |= Inode.I_FREEING;
                } finally {
                    inodeLock.spinUnlock();
                }
            }
            evict(inode);
            freed++;
        }
        return freed;
    }

    /**
     * drop_pagecache_sb() (fs/drop_caches.c, 4.3; echo 1 > drop_caches for one superblock): every inode's
     * clean, unused page-cache pages are dropped with invalidate_mapping_pages(); dirty ones stay. Returns the
     * pages left.
     */
    public long dropPagecacheSb() {
        long left = 0;
        for (Inode inode : grabAll()) {
            try {
                AddressSpace m = inode.mapping();
                if (m != null && m.nrpages() > 0) {
                    left += kernel.mm().filemap().invalidateMappingPages(m, 0);
                }
            } finally {
                iput(inode);
            }
        }
        return left;
    }

    /** The referenced inodes of this superblock, for sync and unmount. */
    private List<Inode> grabAll() {
        List<Inode> out = new ArrayList<>();
        inodeLock.spinLock();
        try {
            for (Inode inode : sInodes) {
                if ((inode.state & (Inode.I_FREEING | Inode.I_WILL_FREE)) == 0) {
                    inode.iCount++;
                    lruDelLocked(inode);
                    out.add(inode);
                }
            }
        } finally {
            inodeLock.spinUnlock();
        }
        return out;
    }

    /**
     * sync_filesystem(): writes every dirty page and waits, then the filesystem's sync_fs(). Returns the
     * first error: a dirty page that could not be written, or the filesystem's.
     */
    public int syncFilesystem() {
        int err = 0;
        for (Inode inode : grabAll()) {
            try {
                AddressSpace m = inode.mapping();
                if (m != null) {
                    int e = kernel.mm().writeback().filemapWriteAndWait(m);
                    if (err == 0) {
                        err = e;
                    }
                }
            } finally {
                iput(inode);
            }
        }
        int e = sops.syncFs(this);
        return err != 0 ? err : e;
    }

    /**
     * generic_shutdown_super() for kill_block_super(): syncs, drops every dentry and unused inode, and
     * tells the filesystem to put its super. Throws if files are still open (busy inodes).
     */
    public void killSuper() {
        sUmount.downWrite();
        try {
            if (!active) {
                throw new IllegalStateException("umount " + id + ": not mounted");
            }
            kernel.mm().shrinkers().unregisterShrinker(shrinker);
            syncFilesystem();
            active = false;
            dcache.shrinkDcacheSb();
            dcache.dput(root);
            root = null;
            dcache.shrinkDcacheSb();
            List<Inode> busy = new ArrayList<>();
            for (;;) {
                Inode victim = null;
                inodeLock.spinLock();
                try {
                    for (Inode inode : sInodes) {
                        if (inode.iCount == 0 && (inode.state & Inode.I_FREEING) == 0) {
                            victim = inode;
                            lruDelLocked(inode);
                            inode.state |= Inode.I_FREEING;
                            break;
                        }
                    }
                    if (victim == null) {
                        busy.addAll(sInodes);
                    }
                } finally {
                    inodeLock.spinUnlock();
                }
                if (victim == null) {
                    break;
                }
                evict(victim);
            }
            if (!busy.isEmpty()) {
                throw new IllegalStateException("VFS: Busy inodes after unmount of " + id + ": " + busy
                        + ". Self-destruct in 5 seconds.  Have a nice day...");
            }
            sops.putSuper(this);
        } finally {
            sUmount.upWrite();
        }
    }

    /** alloc_super() sets s_shrink.batch to this (3.x-6.x alike): the superblock shrinker works in big batches. */
    public static final int SUPER_SHRINK_BATCH = 1024;

    /** super_cache_count() and super_cache_scan(), registered as alloc_super() sets it up. */
    private final class SuperShrinker implements Shrinker {
        @Override
        public String name() {
            return "super_cache_scan-" + type.name() + "-" + id;
        }

        @Override
        public long batch() {
            return SUPER_SHRINK_BATCH;
        }

        @Override
        public long countObjects(ShrinkControl sc) {
            if (!active) {
                return 0;
            }
            return sops.nrCachedObjects(SuperBlock.this) + dcache.nrUnused() + nrInodesUnused;
        }

        @Override
        public long scanObjects(ShrinkControl sc) {
            // Deadlock avoidance: we may hold various FS locks, and we don't want to recurse into the FS.
            if ((sc.gfpMask & Gfp.__GFP_FS) == 0) {
                return SHRINK_STOP;
            }
            if (!sUmount.downReadTrylock()) {
                return SHRINK_STOP;
            }
            try {
                if (!active) {
                    return SHRINK_STOP;
                }
                long fsObjects = sops.nrCachedObjects(SuperBlock.this);
                long dentries = dcache.nrUnused();
                long inodes = nrInodesUnused;
                long total = dentries + inodes + fsObjects + 1;
                long freed = dcache.pruneDcacheSb(share(sc.nrToScan, dentries, total));
                freed += pruneIcacheSb(share(sc.nrToScan, inodes, total));
                if (fsObjects > 0) {
                    freed += sops.freeCachedObjects(SuperBlock.this, share(sc.nrToScan, fsObjects, total));
                }
                return freed;
            } finally {
                sUmount.upRead();
            }
        }

        /** mult_frac(nr, count, total), but at least one of a non-empty kind so small caches drain. */
        private long share(long nr, long count, long total) {
            if (count == 0) {
                return 0;
            }
            return Math.max(1, (long) ((double) nr * count / total));
        }
    }

    @Override
    public String toString() {
        return type.name() + " on " + id;
    }
}
