package dev.reclaimlab.fs;

import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.Mutex;
import dev.reclaimlab.mm.FileRaState;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * struct file (include/linux/fs.h, fs/file_table.c, as in Linux 4.3): one open of a file or directory,
 * what {@link Vfs#open} and {@link Vfs#create} hand out. It holds its dentry (f_path), and through it the
 * inode, for as long as it is open; its position (f_pos, under f_pos_lock) and its access mode (f_flags).
 *
 * <p>{@code f_count} counts the descriptor's reference and every call in flight (fdget()); {@link
 * Vfs#close} drops the descriptor's and the last reference releases the dentry, which evicts an unlinked
 * inode. A closed file refuses every call with EBADF, a second close included, so nothing is served
 * through it afterwards, whether or not the inode is still cached.
 */
public final class File {
    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_ACCMODE = 3;

    private static final LockClassKey F_POS_LOCK = new LockClassKey("&f->f_pos_lock");

    private final Vfs vfs;
    private final Dentry dentry;
    private final Inode inode;
    private final int flags;
    private final Mutex fPosLock = new Mutex("&f->f_pos_lock", F_POS_LOCK);
    // f_ra: updated without a lock by concurrent reads of one open file, as in the kernel; a race only
    // makes readahead guess worse.
    private final FileRaState ra;
    // Guarded by fPosLock.
    private long pos;
    // Guarded by fPosLock: the name of the last directory entry getdents returned (null before the first).
    private String dirCursor;
    private final AtomicInteger count = new AtomicInteger(1);
    private final AtomicBoolean closed = new AtomicBoolean();

    /** alloc_file(): takes over the caller's reference on {@code dentry}. */
    File(Vfs vfs, Dentry dentry, int flags) {
        this.vfs = vfs;
        this.dentry = dentry;
        this.inode = dentry.inode();
        this.flags = flags;
        // A directory has no page cache, so no readahead state.
        this.ra = inode.mapping() == null ? null : new FileRaState(inode.mapping());
    }

    /** f_ra: the open file's readahead state, file_ra_state_init() at open. */
    public FileRaState ra() {
        return ra;
    }

    /** The open file's inode (file_inode()); EBADF once the file is closed. */
    public Inode inode() {
        if (closed.get()) {
            throw new VfsException(-Errno.EBADF, "file_inode(" + this + ")");
        }
        return inode;
    }

    /** f_flags & O_ACCMODE. */
    public int accessMode() {
        return flags & O_ACCMODE;
    }

    public boolean isClosed() {
        return closed.get();
    }

    Vfs vfs() {
        return vfs;
    }

    Dentry dentry() {
        return dentry;
    }

    /** The inode without the open check, for the VFS between fdget() and fdput(). */
    Inode inodeUnchecked() {
        return inode;
    }

    boolean canRead() {
        return accessMode() != O_WRONLY;
    }

    boolean canWrite() {
        return accessMode() == O_WRONLY || accessMode() == O_RDWR;
    }

    /** fdget(): a reference for one call; EBADF once closed. Every fdget() is paired with {@link #fdput}. */
    void fdget(String op) {
        for (;;) {
            int c = count.get();
            if (c <= 0 || closed.get()) {
                throw new VfsException(-Errno.EBADF, op + "(" + this + "): file is closed");
            }
            if (count.compareAndSet(c, c + 1)) {
                if (closed.get()) {
                    fdput();
                    throw new VfsException(-Errno.EBADF, op + "(" + this + "): file is closed");
                }
                return;
            }
        }
    }

    /** fdput()/fput(): the last reference releases the dentry (__fput()). */
    void fdput() {
        int c = count.decrementAndGet();
        if (c == 0) {
            vfs.release(this);
        } else if (c < 0) {
            count.incrementAndGet();
            throw new IllegalStateException("fput(" + this + "): f_count underflow");
        }
    }

    /** close(): the descriptor's reference; EBADF for a second close. */
    void close() {
        if (!closed.compareAndSet(false, true)) {
            throw new VfsException(-Errno.EBADF, "close(" + this + "): already closed");
        }
        fdput();
    }

    Mutex fPosLock() {
        return fPosLock;
    }

    /** f_pos; the caller holds f_pos_lock. */
    long pos() {
        return pos;
    }

    void setPos(long p) {
        this.pos = p;
    }

    /** The last entry getdents returned from this open directory, or null; the caller holds f_pos_lock. */
    String dirCursor() {
        return dirCursor;
    }

    void setDirCursor(String name) {
        this.dirCursor = name;
    }

    @Override
    public String toString() {
        return "file " + dentry + " (" + inode + (closed.get() ? ", closed" : "") + ")";
    }
}
