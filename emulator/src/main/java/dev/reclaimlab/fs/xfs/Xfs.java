package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.block.Bio;
import dev.reclaimlab.block.BlockDevice;
import dev.reclaimlab.fs.FileSystemType;
import dev.reclaimlab.fs.Inode;
import dev.reclaimlab.fs.ReadWrite;
import dev.reclaimlab.fs.SuperBlock;
import dev.reclaimlab.fs.SuperOperations;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.SpinLock;
import dev.reclaimlab.locking.Throttle;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.KmemCache;
import dev.reclaimlab.mm.PageAlloc;
import dev.reclaimlab.mm.PhysMem;

import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * struct xfs_mount (fs/xfs/xfs_super.c, xfs_mount.c): an XFS-like filesystem on a block device. Layout
 * in 512-byte sectors: the superblock in the first 4 KiB block, then the log region (handed to
 * {@link XfsLog}), then 4 KiB data blocks. Metadata (dinodes, directories, the free-block bitmap) lives
 * in memory and each mount starts empty; file data is real and goes to and from the device through
 * bios. Mount from a kernel task; {@link #umount} syncs, reclaims every inode and unmounts the log.
 */
public final class Xfs implements SuperOperations {
    /**
     * NeilBrown's RFC 04/19 "Make effect of PF_FSTRANS to disable __GFP_FS universal." (2014, never merged):
     * PF_FSTRANS no longer means "inside an XFS transaction", so xfs_vm_writepage() (XfsAops) stops refusing
     * it (an nfsd under PF_FSTRANS must be able to fsync for a COMMIT).
     */
    public static final Fix PF_FSTRANS_UNIVERSAL = Fix.declare("pf_fstrans_universal",
            "PF_FSTRANS is a general NOFS scope: xfs_vm_writepage() no longer refuses to write under it",
            "RFC 04/19 Make effect of PF_FSTRANS to disable __GFP_FS universal (NeilBrown, 2014; never merged)", null);
    public static final FileSystemType XFS_TYPE = new FileSystemType("xfs");
    /** XFS_SB_MAGIC, "XFSB". */
    public static final int XFS_SB_MAGIC = 0x58465342;
    public static final long ROOT_INO = 128;
    private static final LockClassKey ALLOC_LOCK_KEY = new LockClassKey("&pag->pagb_lock");

    private final Kernel kernel;
    private final BlockDevice bdev;
    private final String devName;
    private final XfsMountOptions opts;
    private final long logStart;
    private final long dataStart;
    private final long dblocks;
    private final SpinLock allocLock = new SpinLock("xfs_alloc", ALLOC_LOCK_KEY);
    private final BitSet usedBlocks = new BitSet();
    private long freeBlocks;
    private final Map<Long, XfsDinode> dinodes = new ConcurrentHashMap<>();
    private final AtomicLong nextIno = new AtomicLong(ROOT_INO + 1);
    private final XfsLog log;
    private final KmemCache xfsTransZone;
    private final Throttle kmemRetryWait = new Throttle("kmem_zone_alloc: congestion_wait(BLK_RW_ASYNC, HZ/50)");
    private final XfsIcache icache;
    private final XfsBuf.Cache bufCache;
    private final XfsFile file;
    private final SuperBlock sb;
    private final Vfs vfs;
    private volatile String shutdownReason;
    final AtomicLong readErrors = new AtomicLong();
    final AtomicLong writeErrors = new AtomicLong();

    private Xfs(Kernel kernel, BlockDevice bdev, XfsMountOptions opts) {
        this.kernel = kernel;
        this.bdev = bdev;
        this.devName = bdev.name();
        this.opts = opts;
        this.logStart = XfsAops.SECTORS_PER_BLOCK;
        long logEnd = logStart + opts.logSectors();
        this.dataStart = (logEnd + XfsAops.SECTORS_PER_BLOCK - 1) / XfsAops.SECTORS_PER_BLOCK * XfsAops.SECTORS_PER_BLOCK;
        this.dblocks = (bdev.nrSectors() - dataStart) / XfsAops.SECTORS_PER_BLOCK;
        if (dblocks < 16) {
            throw new IllegalArgumentException("mount xfs on " + devName + ": " + bdev.nrSectors() + " sectors leave "
                    + dblocks + " data blocks after a " + opts.logSectors() + "-sector log; need at least 16");
        }
        this.freeBlocks = dblocks;
        this.xfsTransZone = SuperBlock.kmemCacheGet(kernel.mm(), "xfs_trans", XfsTrans.XFS_TRANS_SIZE, 0);
        this.icache = new XfsIcache(this);
        this.bufCache = new XfsBuf.Cache(this);
        this.file = new XfsFile(this);
        this.sb = new SuperBlock(kernel, XFS_TYPE, bdev, devName, this, new XfsDir(this), file);
        // xfs_max_file_offset() on a 64-bit kernel: (1 << 63) - 1; the sparse extent map maps any block below it.
        sb.setMaxBytes(ReadWrite.MAX_LFS_FILESIZE);
        this.vfs = new Vfs(sb);
        xfsWriteSb();
        this.log = new XfsLog(kernel, bdev, logStart, opts.logSectors(), opts.logbufs(), opts.logbsize(), devName);
    }

    /** mount -t xfs with the default options. */
    public static Xfs mount(Kernel kernel, BlockDevice bdev) {
        return mount(kernel, bdev, XfsMountOptions.defaults());
    }

    /** xfs_fs_fill_super(): writes the superblock, mounts the log, reads the root and registers the shrinker. */
    public static Xfs mount(Kernel kernel, BlockDevice bdev, XfsMountOptions opts) {
        kernel.currentTask();
        Xfs mp = new Xfs(kernel, bdev, opts);
        mp.dinodes.put(ROOT_INO, new XfsDinode(ROOT_INO, Inode.S_IFDIR | 0755, 2));
        XfsInode root = mp.icache.xfsIget(ROOT_INO, Gfp.GFP_KERNEL);
        mp.sb.setRoot(root);
        kernel.mm().shrinkers().registerShrinker(mp.bufCache);
        mp.sb.activate();
        return mp;
    }

    /** umount: syncs, evicts and reclaims every inode, unmounts the log. */
    public void umount() {
        sb.killSuper();
    }

    /** xfs_trans_zone (xfs_init_zones(): kmem_zone_init(sizeof(xfs_trans_t), "xfs_trans")). */
    public KmemCache xfsTransZone() {
        return xfsTransZone;
    }

    /** kmem_zone_alloc()'s retry of a sleeping allocation that failed, on the transaction handle's wait. */
    void kmemZoneBackOff(int retries, String where, int gfp) {
        kmemBackOff(kmemRetryWait, retries, where, gfp);
    }

    /**
     * kmem_alloc()'s and kmem_zone_alloc()'s loop for KM_SLEEP: never fail, report "possible memory allocation
     * deadlock" every 100 tries, and congestion_wait(BLK_RW_ASYNC, HZ/50) between them.
     */
    void kmemBackOff(Throttle wait, int retries, String where, int gfp) {
        if (retries % 100 == 0) {
            kernel.printk(String.format("XFS: %s(%d) possible memory allocation deadlock in %s (mode:0x%x)",
                    Task.current().comm(), Task.current().pid(), where, gfp));
        }
        wait.throttle(XfsBuf.CONGESTION_WAIT_HZ_50_NANOS);
    }

    public Kernel kernel() {
        return kernel;
    }

    public BlockDevice bdev() {
        return bdev;
    }

    public String devName() {
        return devName;
    }

    public SuperBlock sb() {
        return sb;
    }

    /** The syscall facade on this mount. */
    public Vfs vfs() {
        return vfs;
    }

    /** Mounted with -o relatime (else no atime updates, as noatime). */
    public boolean relatime() {
        return opts.relatime();
    }

    public XfsLog log() {
        return log;
    }

    XfsIcache icache() {
        return icache;
    }

    XfsBuf.Cache bufCache() {
        return bufCache;
    }

    /** Directory buffers allocated so far (each a miss of the buffer cache), and freed. */
    public long bufsAllocated() {
        return bufCache.allocated.get();
    }

    public long bufsFreed() {
        return bufCache.freed.get();
    }

    /** The buffer cache's shrinker (xfs_buftarg_shrink_scan), registered while mounted. */
    public dev.reclaimlab.mm.Shrinker bufShrinker() {
        return bufCache;
    }

    /** Directory buffers cached now. */
    public int nrCachedBufs() {
        return bufCache.nrCached();
    }

    /** The gfp every xfs_buf allocation uses on this mount. */
    public int bufGfp() {
        return bufCache.gfp();
    }

    XfsFile file() {
        return file;
    }

    /** Data blocks (sb_dblocks) and free ones (sb_fdblocks). */
    public long dblocks() {
        return dblocks;
    }

    public long freeBlocks() {
        allocLock.spinLock();
        try {
            return freeBlocks;
        } finally {
            allocLock.spinUnlock();
        }
    }

    /** First sector of data block 0. */
    public long dataStartSector() {
        return dataStart;
    }

    /** Sector of data block {@code block}. */
    long blockToSector(long block) {
        if (block < 0 || block >= dblocks) {
            throw new IllegalArgumentException(devName + ": data block " + block + " outside [0, " + dblocks + ")");
        }
        return dataStart + block * XfsAops.SECTORS_PER_BLOCK;
    }

    /** In-core XFS inodes (in use or waiting for reclaim). */
    public long nrInCoreInodes() {
        return icache.nrInodes();
    }

    /** Inodes the VFS released that inode reclaim has not freed yet. */
    public long nrReclaimableInodes() {
        return icache.nrReclaimable();
    }

    /** Inodes inode reclaim freed. */
    public long inodesReclaimed() {
        return icache.reclaimed.get();
    }

    /** Pinned inodes that non-blocking reclaim passed over. */
    public long reclaimSkippedPinned() {
        return icache.reclaimSkippedPinned.get();
    }

    /** Referenced inodes whose ILOCK inode reclaim took (the control only). */
    public long reclaimLockedReferenced() {
        return icache.reclaimLockedReferenced.get();
    }

    /** Times inode reclaim forced the log and waited for an unpin. */
    public long reclaimUnpinWaits() {
        return icache.reclaimUnpinWaits.get();
    }

    /**
     * xfs_force_shutdown(): in-core metadata can no longer be trusted to reach the log; from now on file
     * reads, writes, fsync and name changes fail with -EIO, as XFS_FORCED_SHUTDOWN() makes them.
     */
    void xfsForceShutdown(String why) {
        if (shutdownReason == null) {
            shutdownReason = why;
            kernel.printk("XFS (" + devName + "): " + why + "\nXFS (" + devName + "): Corruption of in-memory data"
                    + " detected.  Shutting down filesystem");
        }
    }

    /** XFS_FORCED_SHUTDOWN(). */
    public boolean forcedShutdown() {
        return shutdownReason != null;
    }

    /** Data reads and writes the device failed. */
    public long ioErrors() {
        return readErrors.get() + writeErrors.get();
    }

    /** The in-core inode of {@code ino} in whatever state, or null; does not take a reference. */
    public XfsInode peekInode(long ino) {
        return icache.peek(ino);
    }

    // ---------------------------------------------------------------- allocation (metadata in memory)

    XfsDinode dinode(long ino) {
        return dinodes.get(ino);
    }

    /** xfs_dialloc(): a new dinode. */
    XfsDinode xfsDialloc(int mode, int nlink) {
        long ino = nextIno.getAndIncrement();
        XfsDinode di = new XfsDinode(ino, mode, nlink);
        dinodes.put(ino, di);
        return di;
    }

    /** xfs_difree(). */
    void xfsDifree(long ino) {
        dinodes.remove(ino);
    }

    /** xfs_alloc_vextent() of one block: its number, or -ENOSPC. */
    long xfsAllocVextent() {
        allocLock.spinLock();
        try {
            int b = usedBlocks.nextClearBit(0);
            if (b >= dblocks) {
                return -Errno.ENOSPC;
            }
            usedBlocks.set(b);
            freeBlocks--;
            return b;
        } finally {
            allocLock.spinUnlock();
        }
    }

    /** xfs_free_extent() of each {startblock, blockcount} run. */
    void xfsFreeExtents(List<long[]> extents) {
        allocLock.spinLock();
        try {
            for (long[] x : extents) {
                for (long b = x[0]; b < x[0] + x[1]; b++) {
                    if (b < 0 || b >= dblocks || !usedBlocks.get((int) b)) {
                        throw new IllegalStateException(devName + ": freeing free data block " + b);
                    }
                    usedBlocks.clear((int) b);
                    freeBlocks++;
                }
            }
        } finally {
            allocLock.spinUnlock();
        }
    }

    /** xfs_mount's superblock write: the geometry in sector 0, written through a bio. */
    private void xfsWriteSb() {
        int page = kernel.mm().allocPages(Gfp.GFP_NOFS, 0);
        if (page == PageAlloc.NULL_PAGE) {
            throw new IllegalStateException("mount xfs on " + devName + ": -ENOMEM for the superblock buffer");
        }
        try {
            PhysMem mem = kernel.mm().mem();
            long va = kernel.mm().pageAddress(page);
            mem.memset(va, 0, PhysMem.PAGE_SIZE);
            mem.putInt(va, XFS_SB_MAGIC);
            mem.putInt(va + 4, PhysMem.PAGE_SIZE);
            mem.putLong(va + 8, dblocks);
            mem.putLong(va + 16, logStart);
            mem.putLong(va + 24, opts.logSectors());
            mem.putLong(va + 32, ROOT_INO);
            Bio bio = new Bio(Bio.Op.WRITE, 0, 1).setReqSync();
            bio.addPage(page, Bio.SECTOR_SIZE, 0);
            int err = bdev.submitBioWait(bio);
            if (err != 0) {
                throw new IllegalStateException("mount xfs on " + devName + ": superblock write failed: " + Errno.name(err));
            }
        } finally {
            kernel.mm().freePages(page, 0);
        }
    }

    // ---------------------------------------------------------------- super_operations

    @Override
    public Inode iget(SuperBlock s, long ino, int gfp) {
        return icache.xfsIget(ino, gfp);
    }

    /**
     * xfs_fs_evict_inode() -> xfs_inactive(): an unlinked inode gives its blocks back and its dinode is
     * freed in a logged transaction (which pins the inode until the log is on disk). First the inode
     * changes owner, from the VFS to reclaim ({@link XfsInode#xfsEvicted}).
     */
    @Override
    public void evictInode(Inode inode) {
        XfsInode ip = (XfsInode) inode;
        ip.xfsEvicted(kernel.config().has(XfsIcache.XFS_RECLAIMABLE_ILOCK_CLASS));
        if (ip.nlink() > 0) {
            return;
        }
        try (XfsTrans tp = XfsTrans.xfsTransAlloc(this)) {
            ip.xfsIlock(XfsInode.XFS_ILOCK_EXCL);
            tp.xfsTransIjoin(ip, XfsInode.XFS_ILOCK_EXCL);
            xfsFreeExtents(ip.dinode().bunmapAll());
            ip.dinode().size = 0;
            tp.xfsTransLogInode(ip);
            tp.xfsTransCommit();
        }
        xfsDifree(ip.ino());
    }

    @Override
    public void destroyInode(Inode inode) {
        icache.xfsFsDestroyInode((XfsInode) inode);
    }

    /** xfs_fs_nr_cached_objects(). */
    @Override
    public long nrCachedObjects(SuperBlock s) {
        return icache.nrReclaimable();
    }

    /** xfs_fs_free_cached_objects(). */
    @Override
    public long freeCachedObjects(SuperBlock s, long nrToScan) {
        return icache.xfsReclaimInodesNr(nrToScan);
    }

    /** xfs_fs_sync_fs(): forces the log. */
    @Override
    public int syncFs(SuperBlock s) {
        return log.xfsLogForce();
    }

    /** xfs_fs_put_super(): reclaims every inode (waiting for pins), frees the buffer cache, unmounts the log. */
    @Override
    public void putSuper(SuperBlock s) {
        icache.xfsReclaimInodesAll();
        kernel.mm().shrinkers().unregisterShrinker(bufCache);
        bufCache.xfsWaitBuftarg();
        log.xfsLogUnmount();
    }

    @Override
    public String toString() {
        return "xfs on " + devName;
    }
}
