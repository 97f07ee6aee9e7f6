package dev.reclaimlab.fs;


import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.mm.SchedMm;
import dev.reclaimlab.mm.UserBuffer;

import java.util.Arrays;
import java.util.List;

/**
 * The system calls a workload makes on one mounted filesystem (fs/namei.c, fs/open.c, fs/read_write.c,
 * fs/sync.c). Paths are absolute within the mount ("/dir/file"). Name operations hold the parent
 * directory's i_rwsem for write, as the 2015 kernel held i_mutex, and allocate a dentry under it with
 * __d_alloc(GFP_KERNEL) only when the name has none in the dcache, positive or negative ({@link Namei});
 * a create instantiates the negative dentry its lookup found or made, an unlink leaves one. {@link #open}, {@link #create} and {@link #mkdir} return an open
 * {@link File}; give each back with {@link #close}. A closed file, one of another mount, or none gets
 * EBADF; a buffer that is not there gets EFAULT. Failures throw {@link VfsException} with the errno.
 */
public final class Vfs {
    /** NAME_MAX. */
    public static final int NAME_MAX = 255;
    /**
     * The most one allocating {@link #read(File, long, int)} returns (a short read beyond it); the kernel's
     * limit is {@link ReadWrite#MAX_RW_COUNT}, which {@link #read(File, long, byte[], int, int)} keeps.
     */
    public static final int MAX_READ_ALLOC = 16 << 20;

    /**
     * The RFC's general rule (NeilBrown, seed 000: "you cannot allow FS memory reclaim while holding locks in
     * filesystems which can be NFS exported"): a task holding the i_mutex of a directory of an exported
     * filesystem runs under PF_FSTRANS, the NOFS scope. No posted patch did this for the VFS; RFC 06/19 did
     * it for nfsd.
     */
    public static final Fix EXPORTED_DIR_FSTRANS = Fix.declare("exported_dir_fstrans",
            "PF_FSTRANS is held while a directory i_mutex of an NFS-exported filesystem is held",
            "the general rule of NeilBrown's RFC 00/19 \"Support loop-back NFS mounts\" (2014; no VFS patch)", null);

    public static final int SEEK_SET = 0;
    public static final int SEEK_CUR = 1;
    public static final int SEEK_END = 2;

    private final SuperBlock sb;
    private final Dcache dcache;
    private final Namei namei;

    public Vfs(SuperBlock sb) {
        this.sb = sb;
        this.dcache = sb.dcache();
        this.namei = new Namei(sb);
    }

    public SuperBlock sb() {
        return sb;
    }

    /** stat(): the size of what {@code path} names (the path walk is the point: lookup_fast() and d_revalidate()). */
    public long stat(String path) {
        enter();
        Dentry d = pathLookup(path);
        try {
            return d.inode().iSize();
        } finally {
            dcache.dput(d);
        }
    }

    /** open() of an existing file (read-write) or directory (read-only). */
    public File open(String path) {
        enter();
        Dentry d = pathLookup(path);
        return new File(this, d, d.inode().isDir() ? File.O_RDONLY : File.O_RDWR);
    }

    /** open(path, flags): O_RDONLY, O_WRONLY or O_RDWR; a directory opens read-only only (EISDIR). */
    public File open(String path, int flags) {
        enter();
        if ((flags & ~File.O_ACCMODE) != 0 || (flags & File.O_ACCMODE) == File.O_ACCMODE) {
            throw new VfsException(-Errno.EINVAL, "open(" + path + ", flags 0" + Integer.toOctalString(flags) + ")");
        }
        Dentry d = pathLookup(path);
        if (d.inode().isDir() && flags != File.O_RDONLY) {
            dcache.dput(d);
            throw new VfsException(-Errno.EISDIR, "open(" + path + ") for writing");
        }
        return new File(this, d, flags);
    }

    /** close(): EBADF if already closed. The last reference to the file releases its dentry (and inode). */
    public void close(File f) {
        enter();
        check(f, "close");
        int err = 0;
        if (f.canWrite()) {
            // filp_close() -> f_op->flush() while the descriptor is still open.
            f.fdget("close");
            try {
                err = sb.fileOps().flush(f.inodeUnchecked());
            } finally {
                f.fdput();
            }
        }
        f.close();
        if (err < 0) {
            throw new VfsException(err, "close(" + f + ")");
        }
    }

    /** __fput(): the file's last reference is gone. */
    void release(File f) {
        enter();
        dcache.dput(f.dentry());
    }

    /** creat() of {@code name} in the directory at {@code dirPath}: the new file, open read-write. */
    public File create(String dirPath, String name) {
        enter();
        Dentry dir = pathLookup(dirPath);
        try {
            return new File(this, doCreate(dir, name, false, Namei.LOOKUP_OPEN | Namei.LOOKUP_CREATE), File.O_RDWR);
        } finally {
            dcache.dput(dir);
        }
    }

    /**
     * openat(dir, name, O_CREAT|O_EXCL|O_RDWR): creates {@code name} in the open directory {@code dir}. The
     * open directory holds its dentry, so it works whatever the dcache pruned meanwhile.
     */
    public File create(File dir, String name) {
        enter();
        check(dir, "create");
        dir.fdget("create");
        try {
            return new File(this, doCreate(dir.dentry(), name, false,
                    Namei.LOOKUP_OPEN | Namei.LOOKUP_CREATE | Namei.LOOKUP_EXCL), File.O_RDWR);
        } finally {
            dir.fdput();
        }
    }

    /** mkdir(), then the new directory open read-only. */
    public File mkdir(String dirPath, String name) {
        enter();
        Dentry dir = pathLookup(dirPath);
        try {
            return new File(this, doCreate(dir, name, true, Namei.LOOKUP_CREATE | Namei.LOOKUP_EXCL), File.O_RDONLY);
        } finally {
            dcache.dput(dir);
        }
    }

    /** unlink(). */
    public void unlink(String dirPath, String name) {
        enter();
        remove(dirPath, name, false);
    }

    /** rmdir(). */
    public void rmdir(String dirPath, String name) {
        enter();
        remove(dirPath, name, true);
    }

    /** getdents(): the names in a directory, sorted. */
    public List<String> readdir(String dirPath) {
        enter();
        Dentry d = pathLookup(dirPath);
        try {
            Inode dir = d.inode();
            if (!dir.isDir()) {
                throw new VfsException(-Errno.ENOTDIR, "readdir(" + dirPath + ")");
            }
            dir.inodeLockShared();
            try {
                return sb.dirOps().readdir(dir);
            } finally {
                dir.inodeUnlockShared();
            }
        } finally {
            dcache.dput(d);
        }
    }

    /**
     * getdents64() of the open directory {@code dir} into {@code count} bytes of {@code buf} at {@code uoff}:
     * the bytes of struct linux_dirent64 records written, 0 at the end ({@link Readdir}).
     */
    public int getdents64(File dir, UserBuffer buf, long uoff, int count) {
        enter();
        check(dir, "getdents64");
        if (buf == null) {
            throw new VfsException(-Errno.EFAULT, "getdents64(" + dir + "): no user buffer");
        }
        dir.fdget("getdents64");
        try {
            return Readdir.getdents64(sb, namei, dir, buf, uoff, count);
        } finally {
            dir.fdput();
        }
    }

    /**
     * pwrite(): writes {@code data} at {@code pos}; returns the bytes written, fewer than asked only where
     * the file reaches the filesystem's maximum size (a write at or beyond it is EFBIG).
     */
    public long write(File f, long pos, byte[] data) {
        enter();
        check(f, "write");
        if (data == null) {
            throw new VfsException(-Errno.EFAULT, "write(" + f + "): null buffer");
        }
        f.fdget("write");
        try {
            return doWrite(f, pos, data);
        } finally {
            f.fdput();
        }
    }

    /** write(): writes {@code data} at the file's position and advances it. */
    public long write(File f, byte[] data) {
        enter();
        check(f, "write");
        if (data == null) {
            throw new VfsException(-Errno.EFAULT, "write(" + f + "): null buffer");
        }
        f.fdget("write");
        try {
            f.fPosLock().mutexLock();
            try {
                long n = doWrite(f, f.pos(), data);
                f.setPos(f.pos() + n);
                return n;
            } finally {
                f.fPosLock().mutexUnlock();
            }
        } finally {
            f.fdput();
        }
    }

    private long doWrite(File f, long pos, byte[] data) {
        Inode inode = f.inodeUnchecked();
        if (!f.canWrite()) {
            throw new VfsException(-Errno.EBADF, "write(" + f + "): not open for writing");
        }
        checkFile(inode, "write");
        int err = ReadWrite.rwVerifyArea(pos, data.length);
        if (err < 0) {
            throw new VfsException(err, "write(" + inode + ", pos " + pos + ", " + data.length + " bytes)");
        }
        long n = sb.fileOps().writeIter(inode, pos, IovIter.ofArray(data, 0), data.length);
        if (n < 0) {
            throw new VfsException((int) n, "write(" + inode + ", pos " + pos + ", " + data.length + " bytes)");
        }
        return n;
    }

    /**
     * pread(): up to {@code len} bytes at {@code pos}, fewer at end of file. Allocates only what the file
     * holds there, at most {@link #MAX_READ_ALLOC}, whatever {@code len} asks.
     */
    public byte[] read(File f, long pos, int len) {
        enter();
        check(f, "read");
        f.fdget("read");
        try {
            return doRead(f, pos, len);
        } finally {
            f.fdput();
        }
    }

    /** read(): up to {@code len} bytes at the file's position, which advances by what was read. */
    public byte[] read(File f, int len) {
        enter();
        check(f, "read");
        f.fdget("read");
        try {
            f.fPosLock().mutexLock();
            try {
                byte[] b = doRead(f, f.pos(), len);
                f.setPos(f.pos() + b.length);
                return b;
            } finally {
                f.fPosLock().mutexUnlock();
            }
        } finally {
            f.fdput();
        }
    }

    private byte[] doRead(File f, long pos, int len) {
        Inode inode = checkReadable(f, pos, len);
        long avail = Math.max(0, inode.iSize() - pos);
        int n = (int) Math.min(Math.min(len, avail), MAX_READ_ALLOC);
        byte[] out = new byte[n];
        long got = n == 0 ? 0 : readInto(f, inode, pos, out, 0, n);
        return got == n ? out : Arrays.copyOf(out, (int) got);
    }

    /** pread() into the caller's buffer: bytes read, 0 at end of file; at most MAX_RW_COUNT. */
    public int read(File f, long pos, byte[] buf, int off, int len) {
        enter();
        check(f, "read");
        if (buf == null || off < 0 || len < 0 || off > buf.length - len) {
            throw new VfsException(-Errno.EFAULT, "read(" + f + "): buffer " + (buf == null ? "null"
                    : "[" + off + ", +" + len + ") of " + buf.length + " bytes"));
        }
        f.fdget("read");
        try {
            Inode inode = checkReadable(f, pos, len);
            int n = Math.min(len, ReadWrite.MAX_RW_COUNT);
            return n == 0 ? 0 : (int) readInto(f, inode, pos, buf, off, n);
        } finally {
            f.fdput();
        }
    }

    private Inode checkReadable(File f, long pos, int len) {
        Inode inode = f.inodeUnchecked();
        if (!f.canRead()) {
            throw new VfsException(-Errno.EBADF, "read(" + f + "): not open for reading");
        }
        checkFile(inode, "read");
        int err = ReadWrite.rwVerifyArea(pos, len);
        if (err < 0) {
            throw new VfsException(err, "read(" + inode + ", pos " + pos + ", len " + len + ")");
        }
        return inode;
    }

    private long readInto(File f, Inode inode, long pos, byte[] buf, int off, int len) {
        // The open file's readahead state (f_ra), as vfs_read() passes the struct file down.
        long n = sb.fileOps().readIter(inode, f.ra(), pos, IovIter.ofArray(buf, off), len);
        if (n < 0) {
            throw new VfsException((int) n, "read(" + inode + ", pos " + pos + ", " + len + " bytes)");
        }
        return n;
    }

    /** lseek(): the new position; EINVAL for a negative one or one beyond s_maxbytes. */
    public long lseek(File f, long offset, int whence) {
        enter();
        check(f, "lseek");
        f.fdget("lseek");
        try {
            f.fPosLock().mutexLock();
            try {
                long base;
                switch (whence) {
                    case SEEK_SET:
                        base = 0;
                        break;
                    case SEEK_CUR:
                        base = f.pos();
                        break;
                    case SEEK_END:
                        base = f.inodeUnchecked().iSize();
                        break;
                    default:
                        throw new VfsException(-Errno.EINVAL, "lseek(" + f + ", whence " + whence + ")");
                }
                long p = base + offset;
                if (((base ^ p) & (offset ^ p)) < 0 || p < 0 || p > sb.maxBytes()) {
                    throw new VfsException(-Errno.EINVAL, "lseek(" + f + ", " + offset + ", " + whence + ")");
                }
                f.setPos(p);
                return p;
            } finally {
                f.fPosLock().mutexUnlock();
            }
        } finally {
            f.fdput();
        }
    }

    /** fsync(): the file's data and the metadata to find it are on the device, or the error why not. */
    public void fsync(File f) {
        enter();
        check(f, "fsync");
        f.fdget("fsync");
        try {
            Inode inode = f.inodeUnchecked();
            checkFile(inode, "fsync");
            int err = sb.fileOps().fsync(inode);
            if (err < 0) {
                throw new VfsException(err, "fsync(" + inode + ")");
            }
        } finally {
            f.fdput();
        }
    }

    /** sync(): every dirty page of the filesystem to disk, then the filesystem's own sync. */
    public void sync() {
        enter();
        int err = sb.syncFilesystem();
        if (err < 0) {
            throw new VfsException(err, "sync(" + sb + ")");
        }
    }

    /** The calling thread enters the kernel (a plain thread gets a task attached). */
    private void enter() {
        sb.kernel().currentTask();
    }

    /** fdget()'s lookup: no file, or one of another mount, is a bad descriptor here. */
    private void check(File f, String op) {
        if (f == null) {
            throw new VfsException(-Errno.EBADF, op + ": no file");
        }
        if (f.vfs() != this) {
            throw new VfsException(-Errno.EBADF, op + "(" + f + "): the file is open on " + f.vfs().sb()
                    + ", not " + sb);
        }
    }

    private void checkFile(Inode inode, String op) {
        if (inode.isDir()) {
            throw new VfsException(-Errno.EISDIR, op + "(" + inode + ")");
        }
    }

    private static void checkName(String name) {
        if (name == null || name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('/') >= 0) {
            throw new VfsException(-Errno.EINVAL, "bad name '" + name + "'");
        }
        if (name.length() > NAME_MAX) {
            throw new VfsException(-Errno.ENAMETOOLONG, "name of " + name.length() + " characters");
        }
    }

    /** path_lookupat(): the dentry {@code path} names, referenced. */
    public Dentry pathLookup(String path) {
        return namei.pathLookup(path);
    }

    /**
     * lookup_one_len() for nfsd: the dentry of {@code name} in {@code parent}, whose i_mutex the caller holds,
     * referenced: positive, or negative if the name is absent (the caller checks {@link Dentry#inode()} and
     * dput()s it). A dcache miss allocates with __d_alloc(GFP_KERNEL) under the caller's lock; a hit, negative
     * or not, allocates nothing.
     */
    public Dentry lookupOneLen(Dentry parent, String name) {
        checkName(name);
        checkLocked(parent, "lookup_one_len");
        return namei.lookupHash(parent, name, 0);
    }

    /**
     * vfs_create()/vfs_mkdir() for nfsd: the negative dentry {@code dchild} that its lookup_one_len() returned
     * is instantiated with the new inode (no new dentry). The caller holds the parent's i_mutex and keeps its
     * reference on {@code dchild}. EEXIST if the dentry is positive.
     */
    public void vfsCreate(Dentry parent, Dentry dchild, boolean dir) {
        checkLocked(parent, "vfs_create");
        checkChild(parent, dchild, "vfs_create");
        if (dchild.inode() != null) {
            throw new VfsException(-Errno.EEXIST, "vfs_create(" + dchild + ")");
        }
        instantiate(parent, dchild, dir);
    }

    /**
     * vfs_unlink()/vfs_rmdir() for nfsd of the positive {@code victim} its lookup_one_len() returned: the
     * caller holds the parent's i_mutex and its reference on {@code victim}; 0 or a negative errno.
     */
    public int vfsUnlink(Dentry parent, Dentry victim, boolean dir) {
        checkLocked(parent, "vfs_unlink");
        checkChild(parent, victim, "vfs_unlink");
        if (victim.inode() == null) {
            return -Errno.ENOENT;
        }
        return unlinkLocked(parent.inode(), victim, dir);
    }

    private static void checkLocked(Dentry parent, String op) {
        Inode dir = parent == null ? null : parent.inode();
        if (dir == null || !dir.isDir()) {
            throw new VfsException(-Errno.ENOTDIR, op + "(" + parent + ")");
        }
        if (dir.iMutex() != null && dir.iMutex().owner() != dev.reclaimlab.kernel.Task.current()) {
            throw new IllegalStateException(op + "(" + parent + "): the caller does not hold the directory's i_mutex");
        }
    }

    private static void checkChild(Dentry parent, Dentry child, String op) {
        if (child == null || child.parent() != parent) {
            throw new IllegalArgumentException(op + "(" + parent + "): " + child + " is not a child of it");
        }
    }

    /**
     * vfs_unlink()/vfs_rmdir() of {@code victim} under the parent's lock: for a directory first
     * shrink_dcache_parent(), then the filesystem's ->unlink() (NFS's drops the dentry first), then
     * d_delete(), which leaves a dentry only the caller holds negative and hashed.
     */
    private int unlinkLocked(Inode pdir, Dentry victim, boolean dir) {
        Inode inode = victim.inode();
        int err;
        if (dir != inode.isDir()) {
            err = dir ? -Errno.ENOTDIR : -Errno.EISDIR;
        } else {
            inode.inodeLock();
            try {
                if (dir) {
                    dcache.shrinkDcacheParent(victim);
                    err = sb.dirOps().rmdir(pdir, victim);
                } else {
                    err = sb.dirOps().unlink(pdir, victim);
                }
            } finally {
                inode.inodeUnlock();
            }
        }
        if (err == 0) {
            dcache.dDelete(victim);
        }
        return err;
    }

    /** The new file's dentry, referenced (the caller's open file takes it over). */
    private Dentry doCreate(Dentry parent, String name, boolean dir, int flags) {
        checkName(name);
        Inode pdir = parent.inode();
        String op = dir ? "mkdir(" : "create(";
        if (pdir == null || !pdir.isDir()) {
            throw new VfsException(-Errno.ENOTDIR, op + parent + "/" + name + ")");
        }
        pdir.inodeLockNested(Inode.I_MUTEX_PARENT);
        SchedMm.MemallocScope fstrans = namei.exportedDirFstrans();
        try {
            return createLocked(parent, name, dir, flags);
        } finally {
            if (fstrans != null) {
                fstrans.close();
            }
            pdir.inodeUnlock();
        }
    }

    /**
     * lookup_open()/kern_path_create() then vfs_create()/vfs_mkdir(): the name's dentry from __lookup_hash()
     * (a negative one in the dcache is reused, a miss allocates one), instantiated with the new inode.
     */
    private Dentry createLocked(Dentry parent, String name, boolean dir, int flags) {
        Inode pdir = parent.inode();
        String op = dir ? "mkdir(" : "create(";
        if (pdir.nlink() == 0) {
            // IS_DEADDIR(): the directory was removed while the caller held it open.
            throw new VfsException(-Errno.ENOENT, op + parent + "/" + name + "): directory was removed");
        }
        Dentry d = namei.lookupHash(parent, name, flags);
        if (d.inode() != null) {
            dcache.dput(d);
            throw new VfsException(-Errno.EEXIST, op + parent + "/" + name + ")");
        }
        try {
            instantiate(parent, d, dir);
        } catch (RuntimeException | Error e) {
            dcache.dput(d);
            throw e;
        }
        return d;
    }

    /** ->create()/->mkdir() and d_instantiate() of the negative {@code d}. */
    private void instantiate(Dentry parent, Dentry d, boolean dir) {
        Inode pdir = parent.inode();
        Inode inode = dir ? sb.dirOps().mkdir(pdir, d.name()) : sb.dirOps().create(pdir, d.name());
        dcache.dInstantiate(d, inode);
        sb.dirOps().dSetVerifier(pdir, d);
    }

    /**
     * do_unlinkat()/do_rmdir(): the victim under the parent's i_mutex (I_MUTEX_PARENT), with an extra
     * inode reference (ihold()) so that the last iput(), which evicts the unlinked inode, comes after the
     * parent's lock is dropped.
     */
    private void remove(String dirPath, String name, boolean dir) {
        checkName(name);
        String op = dir ? "rmdir(" : "unlink(";
        Dentry parent = pathLookup(dirPath);
        Inode held = null;
        try {
            Inode pdir = parent.inode();
            if (!pdir.isDir()) {
                throw new VfsException(-Errno.ENOTDIR, op + dirPath + "/" + name + ")");
            }
            pdir.inodeLockNested(Inode.I_MUTEX_PARENT);
            SchedMm.MemallocScope fstrans = namei.exportedDirFstrans();
            try {
                Dentry victim = namei.lookupHash(parent, name, 0);
                try {
                    if (victim.inode() == null) {
                        throw new VfsException(-Errno.ENOENT, op + dirPath + "/" + name + ")");
                    }
                    held = victim.inode();
                    sb.ihold(held);
                    int err = unlinkLocked(pdir, victim, dir);
                    if (err < 0) {
                        throw new VfsException(err, op + dirPath + "/" + name + ")");
                    }
                } finally {
                    dcache.dput(victim);
                }
            } finally {
                if (fstrans != null) {
                    fstrans.close();
                }
                pdir.inodeUnlock();
            }
        } finally {
            if (held != null) {
                sb.iput(held);
            }
            dcache.dput(parent);
        }
    }
}
