package dev.reclaimlab.fs;

/**
 * struct inode_operations for directories (include/linux/fs.h). The VFS calls these with the directory's
 * i_rwsem held for write, as the 2015 kernel held i_mutex. Returned inodes carry a reference; errors are
 * negative errnos thrown as {@link VfsException} by the caller.
 */
public interface InodeOperations {
    /** The inode {@code name} refers to in {@code dir}, referenced, or null. */
    Inode lookup(Inode dir, String name);

    /** A new regular file {@code name} in {@code dir}, referenced; or throws EEXIST/ENOSPC/ENOMEM. */
    Inode create(Inode dir, String name);

    /** A new directory {@code name} in {@code dir}, referenced. */
    Inode mkdir(Inode dir, String name);

    /** Removes {@code name} (which is {@code inode}) from {@code dir} and drops its link count. */
    int unlink(Inode dir, String name, Inode inode);

    /** Removes the empty directory {@code name} ({@code inode}) from {@code dir}. */
    int rmdir(Inode dir, String name, Inode inode);

    /** The names in {@code dir}, sorted (iterate_dir()). */
    java.util.List<String> readdir(Inode dir);

    /**
     * d_op->d_revalidate() of a dcache hit {@code dentry} in {@code dir}, called by lookup_fast() without the
     * directory's lock: false makes the VFS drop the dentry and look the name up again (lookup_slow()). Local
     * filesystems have none.
     */
    default boolean dRevalidate(Inode dir, Dentry dentry) {
        return true;
    }

    /** What ->lookup() and ->create() record in the dentry they instantiated (NFS: nfs_set_verifier()). */
    default void dSetVerifier(Inode dir, Dentry dentry) {
    }
}
