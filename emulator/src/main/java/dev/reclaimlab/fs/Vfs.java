package dev.reclaimlab.fs;

import dev.reclaimlab.mm.FileRaState;

import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.mm.Gfp;

import java.util.Arrays;
import java.util.List;

/**
 * The system calls a workload makes on one mounted filesystem (fs/namei.c, fs/open.c, fs/read_write.c,
 * fs/sync.c). Paths are absolute within the mount ("/dir/file"). Name operations hold the parent
 * directory's i_rwsem for write, as the 2015 kernel held i_mutex, and allocate the new dentry under it
 * with __d_alloc(GFP_KERNEL). Returned inodes are referenced: give each back with {@link #close}.
 * Failures throw {@link VfsException} with the errno.
 */
public final class Vfs {
    /** NAME_MAX. */
    public static final int NAME_MAX = 255;

    private final SuperBlock sb;
    private final Dcache dcache;

    public Vfs(SuperBlock sb) {
        this.sb = sb;
        this.dcache = sb.dcache();
    }

    public SuperBlock sb() {
        return sb;
    }

    /** open() of an existing file or directory: its inode, referenced. */
    public Inode open(String path) {
        Dentry d = pathLookup(path);
        try {
            Inode inode = d.inode();
            sb.ihold(inode);
            return inode;
        } finally {
            dcache.dput(d);
        }
    }

    /** close(): drops the reference {@link #open} or {@link #create} returned (iput()). */
    public void close(Inode inode) {
        sb.iput(inode);
    }

    /** creat() of {@code name} in the directory at {@code dirPath}: the new file, referenced. */
    public Inode create(String dirPath, String name) {
        Dentry dir = pathLookup(dirPath);
        try {
            return doCreate(dir, name, false);
        } finally {
            dcache.dput(dir);
        }
    }

    /** creat() of {@code name} in the directory that {@code dirPath} names, as an inode the caller holds. */
    public Inode create(Inode dir, String name) {
        return create(pathOf(dir), name);
    }

    /** mkdir(): the new directory, referenced. */
    public Inode mkdir(String dirPath, String name) {
        Dentry dir = pathLookup(dirPath);
        try {
            return doCreate(dir, name, true);
        } finally {
            dcache.dput(dir);
        }
    }

    /** unlink(). */
    public void unlink(String dirPath, String name) {
        remove(dirPath, name, false);
    }

    /** rmdir(). */
    public void rmdir(String dirPath, String name) {
        remove(dirPath, name, true);
    }

    /** getdents(): the names in a directory, sorted. */
    public List<String> readdir(String dirPath) {
        Dentry d = pathLookup(dirPath);
        try {
            Inode dir = d.inode();
            if (!dir.isDir()) {
                throw new VfsException(-Errno.ENOTDIR, "readdir(" + dirPath + ")");
            }
            dir.iRwsem().downRead();
            try {
                return sb.dirOps().readdir(dir);
            } finally {
                dir.iRwsem().upRead();
            }
        } finally {
            dcache.dput(d);
        }
    }

    /** pwrite(): writes all of {@code data} at {@code pos}; returns the bytes written. */
    public long write(Inode inode, long pos, byte[] data) {
        checkFile(inode, "write");
        if (pos < 0) {
            throw new VfsException(-Errno.EINVAL, "write(" + inode + ", pos " + pos + ")");
        }
        long n = sb.fileOps().writeIter(inode, pos, IovIter.ofArray(data, 0), data.length);
        if (n < 0) {
            throw new VfsException((int) n, "write(" + inode + ", pos " + pos + ", " + data.length + " bytes)");
        }
        return n;
    }

    /** pread(): up to {@code len} bytes at {@code pos}, fewer at end of file. */
    public byte[] read(Inode inode, long pos, int len) {
        checkFile(inode, "read");
        if (pos < 0 || len < 0) {
            throw new VfsException(-Errno.EINVAL, "read(" + inode + ", pos " + pos + ", len " + len + ")");
        }
        byte[] out = new byte[len];
        // One pread() on a freshly opened file: its own readahead state, as file_ra_state_init() gives.
        long n = sb.fileOps().readIter(inode, new FileRaState(inode.mapping()), pos, IovIter.ofArray(out, 0), len);
        if (n < 0) {
            throw new VfsException((int) n, "read(" + inode + ", pos " + pos + ", " + len + " bytes)");
        }
        return n == len ? out : Arrays.copyOf(out, (int) n);
    }

    /** fsync(). */
    public void fsync(Inode inode) {
        checkFile(inode, "fsync");
        int err = sb.fileOps().fsync(inode);
        if (err < 0) {
            throw new VfsException(err, "fsync(" + inode + ")");
        }
    }

    /** sync(): every dirty page of the filesystem to disk, then the filesystem's own sync. */
    public void sync() {
        int err = sb.syncFilesystem();
        if (err < 0) {
            throw new VfsException(err, "sync(" + sb + ")");
        }
    }

    private void checkFile(Inode inode, String op) {
        if (inode.sb() != sb) {
            throw new IllegalArgumentException(op + ": " + inode + " is not on " + sb);
        }
        if (inode.isDir()) {
            throw new VfsException(-Errno.EISDIR, op + "(" + inode + ")");
        }
    }

    private String pathOf(Inode dir) {
        Dentry d = findAlias(dir);
        if (d == null) {
            throw new VfsException(-Errno.ENOENT, "create: directory " + dir + " has no name in the dcache");
        }
        return d.toString();
    }

    private Dentry findAlias(Inode inode) {
        Dentry root = sb.root();
        if (root.inode() == inode) {
            return root;
        }
        return findAlias(root, inode);
    }

    private Dentry findAlias(Dentry parent, Inode inode) {
        dcache.dcacheLock.spinLock();
        List<Dentry> kids;
        try {
            kids = List.copyOf(parent.children.values());
        } finally {
            dcache.dcacheLock.spinUnlock();
        }
        for (Dentry c : kids) {
            if (c.inode() == inode) {
                return c;
            }
            if (c.inode() != null && c.inode().isDir()) {
                Dentry d = findAlias(c, inode);
                if (d != null) {
                    return d;
                }
            }
        }
        return null;
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
        if (path == null || !path.startsWith("/")) {
            throw new VfsException(-Errno.EINVAL, "path '" + path + "' is not absolute");
        }
        Dentry d = dcache.dget(sb.root());
        for (String name : path.split("/")) {
            if (name.isEmpty()) {
                continue;
            }
            Dentry next;
            try {
                next = lookupOne(d, name);
            } finally {
                dcache.dput(d);
            }
            if (next == null) {
                throw new VfsException(-Errno.ENOENT, "lookup(" + path + ")");
            }
            d = next;
        }
        return d;
    }

    /** walk_component(): the dcache, else lookup_slow() under the directory's i_rwsem. Null if absent. */
    private Dentry lookupOne(Dentry parent, String name) {
        Inode dir = parent.inode();
        if (!dir.isDir()) {
            throw new VfsException(-Errno.ENOTDIR, "lookup(" + parent + "/" + name + ")");
        }
        Dentry d = dcache.dLookup(parent, name);
        if (d != null) {
            return d;
        }
        dir.inodeLock();
        try {
            return lookupLocked(parent, name);
        } finally {
            dir.inodeUnlock();
        }
    }

    /** lookup_slow() / __lookup_hash(): the caller holds the directory's i_rwsem. */
    private Dentry lookupLocked(Dentry parent, String name) {
        Dentry d = dcache.dLookup(parent, name);
        if (d != null) {
            return d;
        }
        d = dcache.dAlloc(parent, name, Gfp.GFP_KERNEL);
        if (d == null) {
            throw new VfsException(-Errno.ENOMEM, "d_alloc(" + parent + "/" + name + ")");
        }
        Inode inode;
        try {
            inode = sb.dirOps().lookup(parent.inode(), name);
        } catch (RuntimeException | Error e) {
            dcache.dput(d);
            throw e;
        }
        if (inode == null) {
            dcache.dput(d);
            return null;
        }
        dcache.dAdd(d, inode);
        return d;
    }

    private Inode doCreate(Dentry parent, String name, boolean dir) {
        checkName(name);
        Inode pdir = parent.inode();
        if (!pdir.isDir()) {
            throw new VfsException(-Errno.ENOTDIR, (dir ? "mkdir(" : "create(") + parent + "/" + name + ")");
        }
        pdir.inodeLockNested(Inode.I_MUTEX_PARENT);
        try {
            Dentry existing = lookupLocked(parent, name);
            if (existing != null) {
                dcache.dput(existing);
                throw new VfsException(-Errno.EEXIST, (dir ? "mkdir(" : "create(") + parent + "/" + name + ")");
            }
            Dentry d = dcache.dAlloc(parent, name, Gfp.GFP_KERNEL);
            if (d == null) {
                throw new VfsException(-Errno.ENOMEM, "d_alloc(" + parent + "/" + name + ")");
            }
            Inode inode;
            try {
                inode = dir ? sb.dirOps().mkdir(pdir, name) : sb.dirOps().create(pdir, name);
            } catch (RuntimeException | Error e) {
                dcache.dput(d);
                throw e;
            }
            sb.ihold(inode);
            dcache.dAdd(d, inode);
            dcache.dput(d);
            return inode;
        } finally {
            pdir.inodeUnlock();
        }
    }

    private void remove(String dirPath, String name, boolean dir) {
        checkName(name);
        String op = dir ? "rmdir(" : "unlink(";
        Dentry parent = pathLookup(dirPath);
        try {
            Inode pdir = parent.inode();
            if (!pdir.isDir()) {
                throw new VfsException(-Errno.ENOTDIR, op + dirPath + "/" + name + ")");
            }
            Dentry victim;
            pdir.inodeLockNested(Inode.I_MUTEX_PARENT);
            try {
                victim = lookupLocked(parent, name);
                if (victim == null) {
                    throw new VfsException(-Errno.ENOENT, op + dirPath + "/" + name + ")");
                }
                Inode inode = victim.inode();
                int err;
                if (dir != inode.isDir()) {
                    err = dir ? -Errno.ENOTDIR : -Errno.EISDIR;
                } else {
                    inode.inodeLock();
                    try {
                        err = dir ? sb.dirOps().rmdir(pdir, name, inode) : sb.dirOps().unlink(pdir, name, inode);
                    } finally {
                        inode.inodeUnlock();
                    }
                }
                if (err < 0) {
                    dcache.dput(victim);
                    throw new VfsException(err, op + dirPath + "/" + name + ")");
                }
                dcache.dDelete(victim);
            } finally {
                pdir.inodeUnlock();
            }
            dcache.dput(victim);
        } finally {
            dcache.dput(parent);
        }
    }
}
