package dev.reclaimlab.fs;

import dev.reclaimlab.kernel.Errno;

/**
 * struct inode_operations for directories (include/linux/fs.h). The VFS calls these with the directory's
 * i_rwsem held for write, as the 2015 kernel held i_mutex. Returned inodes carry a reference; errors are
 * negative errnos thrown as {@link VfsException} by the caller.
 */
public interface InodeOperations {
    /**
     * ->lookup(): the inode {@code name} refers to in {@code dir}, referenced, or null; the VFS d_add()s the
     * dentry with it, so a null makes a negative dentry (xfs_vn_lookup()'s d_add(dentry, NULL) on ENOENT,
     * nfs_lookup()'s no_entry).
     */
    Inode lookup(Inode dir, String name);

    /**
     * nfs_is_exclusive_create() in nfs_lookup(): the lookup of a name about to be created exclusively is
     * optimised away and the dentry left negative and unhashed (d_instantiate(dentry, NULL)); the create's
     * reply tells whether the name existed. Local filesystems always look.
     */
    default boolean isExclusiveCreate(Inode dir, int flags) {
        return false;
    }

    /** A new regular file {@code name} in {@code dir}, referenced; or throws EEXIST/ENOSPC/ENOMEM. */
    Inode create(Inode dir, String name);

    /** A new directory {@code name} in {@code dir}, referenced. */
    Inode mkdir(Inode dir, String name);

    /** Removes {@code name} (which is {@code inode}) from {@code dir} and drops its link count. */
    int unlink(Inode dir, String name, Inode inode);

    /** Removes the empty directory {@code name} ({@code inode}) from {@code dir}. */
    int rmdir(Inode dir, String name, Inode inode);

    /** ->unlink(dir, dentry) of the positive {@code dentry}; the VFS d_delete()s it after a success. */
    default int unlink(Inode dir, Dentry dentry) {
        return unlink(dir, dentry.name(), dentry.inode());
    }

    /** ->rmdir(dir, dentry). */
    default int rmdir(Inode dir, Dentry dentry) {
        return rmdir(dir, dentry.name(), dentry.inode());
    }

    /** The names in {@code dir}, sorted (iterate_dir()). */
    java.util.List<String> readdir(Inode dir);

    /**
     * ->iterate() (a file_operations member in the kernel): hands {@code actor} each entry of {@code dir} whose
     * name sorts after {@code after} (every entry when it is null), in name order, until the actor refuses one.
     * The VFS holds the directory's i_mutex. A filesystem without it answers ENOTDIR, as iterate_dir() does.
     */
    default void iterate(Inode dir, String after, DirActor actor) {
        throw new VfsException(-Errno.ENOTDIR, "iterate_dir(" + dir + "): no ->iterate");
    }

    /**
     * d_op->d_revalidate() of a dcache hit {@code dentry} in {@code dir}, positive or negative, with the
     * lookup's intent {@code flags} ({@link Namei}): called by lookup_fast() without the directory's lock and
     * by lookup_dcache() under it; false makes the VFS drop the dentry and look the name up again. Local
     * filesystems have none.
     */
    default boolean dRevalidate(Inode dir, Dentry dentry, int flags) {
        return true;
    }

    /** What ->lookup() and ->create() record in the dentry they instantiated (NFS: nfs_set_verifier()). */
    default void dSetVerifier(Inode dir, Dentry dentry) {
    }
}
