package dev.reclaimlab.fs;

import dev.reclaimlab.locking.LockClassKey;

/**
 * struct file_system_type (include/linux/fs.h): a filesystem's name and its lock class keys. As in the
 * kernel, every filesystem type has its own i_rwsem classes, one for directories and one for the rest,
 * so lockdep tells "xfs directory i_mutex" from "nfs file i_mutex" (as "&type->i_mutex_dir_key#3" and
 * "&sb->s_type->i_mutex_key#5"). Declare one per filesystem, static.
 */
public final class FileSystemType {
    private final String name;
    final LockClassKey iMutexKey;
    final LockClassKey iMutexDirKey;
    final LockClassKey sUmountKey;

    public FileSystemType(String name) {
        this.name = name;
        // The kernel's names (inode_init_always(), lockdep_annotate_inode_mutex_key(), alloc_super()): every
        // type's keys print alike; lockdep tells them apart by "#N", in the order the classes appear.
        this.iMutexKey = new LockClassKey("&sb->s_type->i_mutex_key");
        this.iMutexDirKey = new LockClassKey("&type->i_mutex_dir_key");
        this.sUmountKey = new LockClassKey("&type->s_umount_key");
    }

    public String name() {
        return name;
    }

    /** The i_rwsem class of regular files. */
    public LockClassKey iMutexKey() {
        return iMutexKey;
    }

    /** The i_rwsem class of directories (lockdep_annotate_inode_mutex_key()). */
    public LockClassKey iMutexDirKey() {
        return iMutexDirKey;
    }

    @Override
    public String toString() {
        return name;
    }
}
