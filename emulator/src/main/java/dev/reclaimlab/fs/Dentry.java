package dev.reclaimlab.fs;

import java.util.HashMap;
import java.util.Map;

/**
 * struct dentry (include/linux/dcache.h): a name in a directory bound to an inode. A positive dentry
 * holds a reference on its inode, a child holds one on its parent, so only leaves reach a zero count and
 * the superblock's dentry LRU; a negative one (no inode) records that a name is absent. Its memory is an object of the kernel's "dentry" kmem cache. Fields other
 * than the final ones are guarded by the superblock's dcache lock.
 */
public final class Dentry {
    private final String name;
    private final Dentry parent;
    final long addr;
    /** The external name's kmalloc address (__d_alloc() for names of DNAME_INLINE_LEN or more), 0 if inline. */
    final long extName;
    Inode inode;
    int count;
    boolean hashed;
    boolean onLru;
    private volatile long dTime;
    final Map<String, Dentry> children = new HashMap<>();

    Dentry(String name, Dentry parent, long addr, long extName) {
        this.name = name;
        this.parent = parent;
        this.addr = addr;
        this.extName = extName;
    }

    /** d_name. */
    public String name() {
        return name;
    }

    /** d_parent; null for the root. */
    public Dentry parent() {
        return parent;
    }

    /** d_inode; null until d_add(), and for a negative dentry (a name known to be absent). */
    public Inode inode() {
        return inode;
    }

    /** d_time: the filesystem's revalidation verifier (NFS: the directory's change attribute it was checked at). */
    public long dTime() {
        return dTime;
    }

    public void setDTime(long verifier) {
        dTime = verifier;
    }

    /** d_count, racily, for reports and tests. */
    public int count() {
        return count;
    }

    @Override
    public String toString() {
        return parent == null ? "/" : (parent.parent == null ? "" : parent.toString()) + "/" + name;
    }
}
