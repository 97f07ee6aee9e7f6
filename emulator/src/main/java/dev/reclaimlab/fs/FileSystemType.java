package dev.reclaimlab.fs;

import dev.reclaimlab.locking.LockClassKey;

/**
 * struct file_system_type (include/linux/fs.h): a filesystem's name and its lock class keys. As in the
 * kernel, every filesystem type has its own i_rwsem classes, one for directories and one for the rest,
 * so lockdep tells "xfs directory i_mutex" from "nfs file i_mutex". Declare one per filesystem, static.
 */
public final class FileSystemType {
    private final String name;
    final LockClassKey iMutexKey;
    final LockClassKey iMutexDirKey;
    final LockClassKey sUmountKey;

    public FileSystemType(String name) {
        this.name = name;
        this.iMutexKey = new LockClassKey("&" + name + "_type->i_mutex_key");
        this.iMutexDirKey = new LockClassKey("&" + name + "_type->i_mutex_dir_key");
        this.sUmountKey = new LockClassKey("&" + name + "_type->s_umount_key");
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
