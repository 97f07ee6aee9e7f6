package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.fs.Inode;
import dev.reclaimlab.fs.SuperBlock;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.RwSemaphore;
import dev.reclaimlab.locking.WaitQueue;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * struct xfs_inode (fs/xfs/xfs_inode.h): the in-core XFS inode with the VFS inode embedded (here:
 * extended). Two locks of their own classes: XFS_IOLOCK serialises IO against the file (shared for
 * reads, exclusive for writes), XFS_ILOCK the inode's metadata. {@link #pincount} counts the log
 * checkpoints not yet on disk that hold the inode; a pinned inode must not be freed. The in-core inode
 * costs one "xfs_inode" object of kernel memory until inode reclaim frees it.
 */
public final class XfsInode extends Inode {
    /** mrlock_init(&ip->i_iolock, ...): init_rwsem() names the class after its argument (3.x, 4.x). */
    static final LockClassKey XFS_IOLOCK = new LockClassKey("&(&ip->i_iolock)->mr_lock");
    /**
     * xfs_setup_inode()'s lockdep_set_class() of the ILOCK, by inode type (93a8614e3a4d "xfs: fix directory
     * inode iolock lockdep false positive", posted for 3.14-rc; the same classes in 4.3 and 5.3).
     */
    static final LockClassKey XFS_DIR_ILOCK_CLASS = new LockClassKey("&xfs_dir_ilock_class");
    static final LockClassKey XFS_NONDIR_ILOCK_CLASS = new LockClassKey("&xfs_nondir_ilock_class");
    /**
     * The ILOCK class of an inode on its way to reclaim, with {@link XfsIcache#XFS_RECLAIMABLE_ILOCK_CLASS}:
     * lockdep_set_class_and_name(..., "xfs_ilock_reclaimable"), as ~3.4 did for "xfs_iolock_reclaimable".
     */
    static final LockClassKey XFS_ILOCK_RECLAIMABLE = new LockClassKey("xfs_ilock_reclaimable");

    /** xfs_ilock() lock_flags, the kernel's values. */
    public static final int XFS_IOLOCK_EXCL = 1 << 0;
    public static final int XFS_IOLOCK_SHARED = 1 << 1;
    public static final int XFS_ILOCK_EXCL = 1 << 2;
    public static final int XFS_ILOCK_SHARED = 1 << 3;
    /** Lockdep subclass for the directory locked before a child (xfs_lock_inumorder()). */
    public static final int XFS_ILOCK_PARENT = 1 << 9;

    /** i_flags (the kernel's values): in the reclaim list, being reclaimed. */
    public static final int XFS_IRECLAIM = 1 << 0;
    public static final int XFS_IRECLAIMABLE = 1 << 2;

    private final Xfs mp;
    private final XfsDinode dinode;
    final long kmemAddr;
    private final RwSemaphore iolock;
    private final RwSemaphore ilock;
    private final AtomicInteger pincount = new AtomicInteger();
    private final WaitQueue pinWait;
    final XfsInodeLogItem logItem = new XfsInodeLogItem(this);
    /** Guarded by the mount's ici lock. */
    int iFlags;
    /** The first writeback error since the last fsync (mapping->wb_err). */
    private final AtomicInteger wbErr = new AtomicInteger();

    XfsInode(Xfs mp, SuperBlock sb, XfsDinode dinode, long kmemAddr) {
        super(sb, dinode.ino, dinode.mode);
        this.mp = mp;
        this.dinode = dinode;
        this.kmemAddr = kmemAddr;
        this.iolock = new RwSemaphore("&ip->i_iolock", XFS_IOLOCK);
        this.ilock = new RwSemaphore("&ip->i_lock", isDir() ? XFS_DIR_ILOCK_CLASS : XFS_NONDIR_ILOCK_CLASS);
        this.pinWait = new WaitQueue("xfs_iunpin_wait " + sb.id() + ":" + dinode.ino);
    }

    XfsDinode dinode() {
        return dinode;
    }

    /** i_iolock. */
    public RwSemaphore iolock() {
        return iolock;
    }

    /** i_lock: XFS_ILOCK. */
    public RwSemaphore ilock() {
        return ilock;
    }

    /** xfs_ipincount(). */
    public int pincount() {
        return pincount.get();
    }

    /** xfs_iflags_test(), racily. */
    public int iFlags() {
        return iFlags;
    }

    void pin() {
        pincount.incrementAndGet();
    }

    void unpin() {
        int n = pincount.decrementAndGet();
        if (n < 0) {
            pincount.incrementAndGet();
            throw new IllegalStateException("xfs_inode_item_unpin(" + this + "): inode was not pinned");
        }
        if (n == 0) {
            pinWait.wakeUp();
        }
    }

    WaitQueue pinWait() {
        return pinWait;
    }

    /** mapping_set_error(): keeps the first error for fsync. */
    void setWbErr(int err) {
        wbErr.compareAndSet(0, err);
    }

    /** filemap_check_errors(): the recorded error, cleared. */
    int takeWbErr() {
        return wbErr.getAndSet(0);
    }

    /**
     * The in-core VFS part again for an inode recycled out of the reclaim list (xfs_iget_cache_hit()), then
     * xfs_setup_inode(), which sets the ILOCK's class by type. For verdicts the ILOCK becomes a new
     * instance: the referenced life that starts here is not the reclaimable one that ended.
     */
    void recycle(XfsAops aops) {
        ilock.verdictNewInstance();
        xfsSetupIlockClass();
        reinitVfsInode();
        iSizeWrite(dinode.size);
        setNlink(dinode.nlink);
        xfsCopyTimes();
        if (isReg()) {
            initMapping(aops, XfsAops.XFS_MAPPING_GFP);
        }
    }

    /** The VFS timestamps from the dinode's, as xfs_iget() reads them. */
    private void xfsCopyTimes() {
        setTimes(S_ATIME, dinode.atime);
        setTimes(S_MTIME, dinode.mtime);
        setTimes(S_CTIME, dinode.ctime);
    }

    /** The dinode's timestamps from the VFS inode's, under XFS_ILOCK_EXCL in a transaction. */
    void xfsSyncTimes() {
        dinode.atime = iAtime();
        dinode.mtime = iMtime();
        dinode.ctime = iCtime();
    }

    /** xfs_inode_operations.update_time = xfs_vn_update_time (Linux 4.3). */
    @Override
    protected int updateTime(long now, int flags) {
        return XfsIops.xfsVnUpdateTime(mp, this, now, flags);
    }

    /** xfs_setup_inode()'s lockdep_set_class() of the ILOCK: the directory or the non-directory class. */
    void xfsSetupIlockClass() {
        ilock.lockdepSetClass(isDir() ? XFS_DIR_ILOCK_CLASS : XFS_NONDIR_ILOCK_CLASS);
    }

    /**
     * The VFS has let go of the inode (xfs_fs_evict_inode()): from here on only inactivation and reclaim
     * touch it, so for verdicts its ILOCK is a new instance, and with {@code reclaimableClass} the lock
     * moves to {@link #XFS_ILOCK_RECLAIMABLE}. The lock is not held here, as lockdep_set_class() needs.
     */
    void xfsEvicted(boolean reclaimableClass) {
        ilock.verdictNewInstance();
        if (reclaimableClass) {
            ilock.lockdepSetClass(XFS_ILOCK_RECLAIMABLE);
        }
    }

    /** xfs_setup_inode(): the VFS fields from the dinode and the mapping's GFP_NOFS mask. */
    void setup(XfsAops aops) {
        iSizeWrite(dinode.size);
        setNlink(dinode.nlink);
        xfsCopyTimes();
        if (isReg()) {
            initMapping(aops, XfsAops.XFS_MAPPING_GFP);
        }
    }

    /**
     * xfs_ilock(): takes the IOLOCK then the ILOCK as {@code lockFlags} asks. XFS_IOLOCK_EXCL also takes
     * the VFS i_rwsem first, as the 2015 xfs_rw_ilock() took i_mutex for buffered writes.
     */
    public void xfsIlock(int lockFlags) {
        checkLockFlags(lockFlags, "xfs_ilock");
        int sub = (lockFlags & XFS_ILOCK_PARENT) != 0 ? 1 : 0;
        if ((lockFlags & XFS_IOLOCK_EXCL) != 0) {
            inodeLock();
            iolock.downWrite();
        } else if ((lockFlags & XFS_IOLOCK_SHARED) != 0) {
            iolock.downRead();
        }
        if ((lockFlags & XFS_ILOCK_EXCL) != 0) {
            ilock.downWriteNested(sub);
        } else if ((lockFlags & XFS_ILOCK_SHARED) != 0) {
            ilock.downReadNested(sub);
        }
    }

    /** xfs_ilock_nowait(): all or nothing, adding no lockdep dependency. */
    public boolean xfsIlockNowait(int lockFlags) {
        checkLockFlags(lockFlags, "xfs_ilock_nowait");
        if ((lockFlags & (XFS_IOLOCK_EXCL | XFS_IOLOCK_SHARED)) != 0) {
            throw new IllegalArgumentException("xfs_ilock_nowait(" + this + "): only the ILOCK is tried");
        }
        return (lockFlags & XFS_ILOCK_EXCL) != 0 ? ilock.downWriteTrylock() : ilock.downReadTrylock();
    }

    /** xfs_iunlock(): releases what {@link #xfsIlock} took with the same flags, ILOCK first. */
    public void xfsIunlock(int lockFlags) {
        checkLockFlags(lockFlags, "xfs_iunlock");
        if ((lockFlags & XFS_ILOCK_EXCL) != 0) {
            ilock.upWrite();
        } else if ((lockFlags & XFS_ILOCK_SHARED) != 0) {
            ilock.upRead();
        }
        if ((lockFlags & XFS_IOLOCK_EXCL) != 0) {
            iolock.upWrite();
            inodeUnlock();
        } else if ((lockFlags & XFS_IOLOCK_SHARED) != 0) {
            iolock.upRead();
        }
    }

    private void checkLockFlags(int f, String who) {
        if ((f & (XFS_IOLOCK_EXCL | XFS_IOLOCK_SHARED)) == (XFS_IOLOCK_EXCL | XFS_IOLOCK_SHARED)
                || (f & (XFS_ILOCK_EXCL | XFS_ILOCK_SHARED)) == (XFS_ILOCK_EXCL | XFS_ILOCK_SHARED)
                || (f & (XFS_IOLOCK_EXCL | XFS_IOLOCK_SHARED | XFS_ILOCK_EXCL | XFS_ILOCK_SHARED)) == 0
                || (f & ~(XFS_IOLOCK_EXCL | XFS_IOLOCK_SHARED | XFS_ILOCK_EXCL | XFS_ILOCK_SHARED
                | XFS_ILOCK_PARENT)) != 0) {
            throw new IllegalArgumentException(who + "(" + this + "): bad lock flags 0x" + Integer.toHexString(f));
        }
    }
}
