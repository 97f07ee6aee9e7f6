package dev.reclaimlab.fs;

import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.locking.Mutex;
import dev.reclaimlab.locking.RwSemaphore;
import dev.reclaimlab.mm.AddressSpace;
import dev.reclaimlab.mm.AddressSpaceOperations;

/**
 * struct inode (include/linux/fs.h, fs/inode.c). Filesystems extend it as they embed it (struct
 * xfs_inode holds i_vnode). {@link #iCount} and {@link #state} change only under the superblock's
 * {@code inode lock}; an inode whose count falls to zero goes on the superblock's unused LRU, from where
 * the superblock shrinker evicts it. Each inode owns one object of its filesystem's inode kmem cache, so
 * inodes cost kernel memory.
 */
public abstract class Inode {
    public static final int S_IFREG = 0100000;
    public static final int S_IFDIR = 0040000;

    /**
     * 9902af79c01a "parallel lookups: actual switch to rwsem" (4.7): i_mutex became the rw_semaphore
     * i_rwsem. Before it (3.14) an inode's lock is a struct mutex, "&inode->i_mutex", of the same lock
     * classes; readdir takes it exclusively (mutex_lock_killable() in iterate_dir()).
     */
    public static final Fix I_RWSEM = Fix.declare("i_rwsem", "inode->i_mutex is the rw_semaphore i_rwsem",
            "9902af79c01a parallel lookups: actual switch to rwsem", new KernelVersion(4, 7));

    /** inode_i_mutex_lock_class subclasses. */
    public static final int I_MUTEX_NORMAL = 0;
    public static final int I_MUTEX_PARENT = 1;

    /** i_state bits (the kernel's values). */
    public static final int I_DIRTY_PAGES = 1 << 2;
    public static final int I_NEW = 1 << 3;
    public static final int I_WILL_FREE = 1 << 4;
    public static final int I_FREEING = 1 << 5;
    public static final int I_CLEAR = 1 << 6;
    public static final int I_REFERENCED = 1 << 8;

    /** update_time() flags (include/linux/fs.h, 4.3). */
    public static final int S_ATIME = 1;
    public static final int S_MTIME = 2;
    public static final int S_CTIME = 4;
    /** relatime_need_update()'s "older than a day" (24*60*60 s). */
    static final long RELATIME_DAY_NANOS = 24L * 60 * 60 * 1_000_000_000L;

    private final SuperBlock sb;
    private final long ino;
    private final int mode;
    private final RwSemaphore iRwsem;
    private final Mutex iMutex;
    private volatile long size;
    private volatile int nlink;
    private volatile long mtime;
    private volatile long atime;
    private volatile long ctime;
    private volatile AddressSpace mapping;
    // Guarded by sb.inodeLock.
    int iCount;
    int state;
    boolean onLru;

    protected Inode(SuperBlock sb, long ino, int mode) {
        if ((mode & (S_IFREG | S_IFDIR)) == 0) {
            throw new IllegalArgumentException(sb + ": inode " + ino + " has mode 0" + Integer.toOctalString(mode)
                    + ", neither a regular file nor a directory");
        }
        this.sb = sb;
        this.ino = ino;
        this.mode = mode;
        FileSystemType type = sb.type();
        if (sb.kernel().config().has(I_RWSEM)) {
            this.iRwsem = new RwSemaphore("&inode->i_rwsem", isDir() ? type.iMutexDirKey : type.iMutexKey);
            this.iMutex = null;
        } else {
            this.iRwsem = null;
            this.iMutex = new Mutex("&inode->i_mutex", isDir() ? type.iMutexDirKey : type.iMutexKey);
        }
    }

    public SuperBlock sb() {
        return sb;
    }

    public long ino() {
        return ino;
    }

    public int mode() {
        return mode;
    }

    public boolean isDir() {
        return (mode & S_IFDIR) != 0;
    }

    public boolean isReg() {
        return (mode & S_IFREG) != 0;
    }

    /** i_size_read(). */
    public long iSize() {
        return size;
    }

    /** i_size_write(): the caller holds what serialises size changes (i_rwsem or the fs's own lock). */
    public void iSizeWrite(long newSize) {
        if (newSize < 0) {
            throw new IllegalArgumentException(this + ": negative size " + newSize);
        }
        this.size = newSize;
    }

    /** i_mtime in nanoseconds: what the filesystem last set (a directory's, on each create and remove). */
    public long iMtime() {
        return mtime;
    }

    /**
     * The filesystem changed the inode's data (a directory: a name added or removed): i_mtime becomes
     * current_fs_time(), which advances once a tick (current_kernel_time()), so changes within one tick
     * leave it equal.
     */
    public void touchMtime() {
        mtime = currentFsTime();
    }

    /** i_atime in nanoseconds. */
    public long iAtime() {
        return atime;
    }

    /** i_ctime in nanoseconds. */
    public long iCtime() {
        return ctime;
    }

    /** Sets the timestamps {@code flags} (S_ATIME, S_MTIME, S_CTIME) names to {@code now}. */
    public void setTimes(int flags, long now) {
        if ((flags & S_CTIME) != 0) {
            ctime = now;
        }
        if ((flags & S_MTIME) != 0) {
            mtime = now;
        }
        if ((flags & S_ATIME) != 0) {
            atime = now;
        }
    }

    /**
     * current_fs_time(sb) (fs/inode.c, 4.3): current_kernel_time(), which advances once a tick, truncated to
     * s_time_gran (1 ns for XFS): two calls within one tick are equal.
     */
    public long currentFsTime() {
        long tick = sb.kernel().jiffiesToNanos(1);
        long now = System.nanoTime();
        return now - Math.floorMod(now, tick);
    }

    /**
     * relatime_need_update() (fs/inode.c, 4.3): with MNT_RELATIME, atime is updated only if it is not after
     * mtime or ctime, or is a day old.
     */
    public boolean relatimeNeedUpdate(long now) {
        return mtime - atime >= 0 || ctime - atime >= 0 || now - atime >= RELATIME_DAY_NANOS;
    }

    /**
     * touch_atime() (fs/inode.c, 4.3), reached from file_accessed() at the end of do_generic_file_read().
     * {@code relatime} false is MNT_NOATIME (the emulator's mounts update no atime unless asked to); with it,
     * relatime_need_update(), nothing if atime is already now (the same tick), then update_time(S_ATIME). The
     * result is ignored, as touch_atime() ignores it.
     */
    public final void touchAtime(boolean relatime) {
        if (!relatime) {
            return;
        }
        long now = currentFsTime();
        if (!relatimeNeedUpdate(now)) {
            return;
        }
        if (atime == now) {
            return;
        }
        updateTime(now, S_ATIME);
    }

    /**
     * update_time() (fs/inode.c, 4.3): inode_operations->update_time if the filesystem has one, else
     * generic_update_time(), which sets the times and marks the inode dirty (no writeback of inodes here).
     */
    protected int updateTime(long now, int flags) {
        setTimes(flags, now);
        return 0;
    }

    public int nlink() {
        return nlink;
    }

    /** set_nlink(). */
    public void setNlink(int n) {
        this.nlink = n;
    }

    /** i_rwsem: inode_lock()/inode_unlock(); null before 4.7 ({@link #I_RWSEM}), where {@link #iMutex} is. */
    public RwSemaphore iRwsem() {
        return iRwsem;
    }

    /** i_mutex of a kernel before 4.7; null from 4.7. */
    public Mutex iMutex() {
        return iMutex;
    }

    /** The inode lock's lockdep map, whichever lock it is in this kernel. */
    public dev.reclaimlab.locking.LockdepMap iLockDepMap() {
        return iMutex != null ? iMutex.depMap() : iRwsem.depMap();
    }

    /** The task holding the inode lock for write (i_mutex's owner, i_rwsem's writer), or null. */
    public dev.reclaimlab.kernel.Task iLockOwner() {
        return iMutex != null ? iMutex.owner() : iRwsem.writer();
    }

    /** inode_lock() (mutex_lock(&inode->i_mutex) before 4.7). */
    public void inodeLock() {
        if (iMutex != null) {
            iMutex.mutexLock();
        } else {
            iRwsem.downWrite();
        }
    }

    /** inode_lock_nested(): {@link #I_MUTEX_PARENT} for a directory whose child is locked next. */
    public void inodeLockNested(int subclass) {
        if (iMutex != null) {
            iMutex.mutexLockNested(subclass);
        } else {
            iRwsem.downWriteNested(subclass);
        }
    }

    /** inode_lock_shared() (4.7+); before it the exclusive i_mutex. */
    public void inodeLockShared() {
        if (iMutex != null) {
            iMutex.mutexLock();
        } else {
            iRwsem.downRead();
        }
    }

    /**
     * iterate_dir()'s lock: mutex_lock_killable(&inode->i_mutex) before 4.7, then down_read_killable() on
     * i_rwsem (taken here as down_read(): a reader waits only for a writer). 0, or -EINTR when killed waiting.
     */
    public int inodeLockKillable() {
        if (iMutex != null) {
            return iMutex.mutexLockKillable();
        }
        iRwsem.downRead();
        return 0;
    }

    /** inode_unlock_shared(). */
    public void inodeUnlockShared() {
        if (iMutex != null) {
            iMutex.mutexUnlock();
        } else {
            iRwsem.upRead();
        }
    }

    /** inode_unlock(). */
    public void inodeUnlock() {
        if (iMutex != null) {
            iMutex.mutexUnlock();
        } else {
            iRwsem.upWrite();
        }
    }

    /** i_mapping: the page cache of a regular file (null for directories, whose data is metadata). */
    public AddressSpace mapping() {
        return mapping;
    }

    /** inode_init_always()'s mapping set-up; filesystems call it when they (re)initialise an inode. */
    protected void initMapping(AddressSpaceOperations aops, int gfpMask) {
        AddressSpace m = sb.kernel().mm().addressSpaceCreate(sb.id() + ":" + ino, aops);
        m.mappingSetGfpMask(gfpMask);
        m.setBdi(sb.bdi());
        m.setHostSize(this::iSize);
        this.mapping = m;
    }

    /** Forgets the mapping after evict() destroyed it. */
    void clearMapping() {
        this.mapping = null;
    }

    /** i_count, racily, for reports and tests. */
    public int iCount() {
        return iCount;
    }

    /** i_state, racily, for reports and tests. */
    public int iState() {
        return state;
    }

    /** inode_init_always() again for an inode a filesystem recycles from its own cache. */
    protected void reinitVfsInode() {
        sb.inodeLock.spinLock();
        try {
            iCount = 0;
            state = 0;
            onLru = false;
        } finally {
            sb.inodeLock.spinUnlock();
        }
    }

    @Override
    public String toString() {
        return sb.type().name() + " inode " + ino + " on " + sb.id();
    }
}
