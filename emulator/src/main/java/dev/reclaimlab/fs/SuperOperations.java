package dev.reclaimlab.fs;

/**
 * struct super_operations (include/linux/fs.h): what the VFS asks of a filesystem about its inodes.
 * The filesystem keeps its own inode cache (as XFS does with its per-AG radix trees) and hands the VFS
 * referenced inodes from {@link #iget}.
 */
public interface SuperOperations {
    /**
     * The in-core inode {@code ino} with a reference taken through {@link SuperBlock#igrab} or
     * {@link SuperBlock#iNew}; null if no such inode exists. Allocates with {@code gfp}.
     */
    Inode iget(SuperBlock sb, long ino, int gfp);

    /** evict_inode(): the last reference is gone and the page cache is truncated; free what an unlinked inode held. */
    void evictInode(Inode inode);

    /** destroy_inode(): the VFS is done with the inode; the filesystem frees it now or later. */
    void destroyInode(Inode inode);

    /** nr_cached_objects(): objects the filesystem can free in {@link #freeCachedObjects}. */
    default long nrCachedObjects(SuperBlock sb) {
        return 0;
    }

    /** free_cached_objects(): frees up to {@code nrToScan} of them; returns how many were freed. */
    default long freeCachedObjects(SuperBlock sb, long nrToScan) {
        return 0;
    }

    /** sync_fs(): makes everything written so far stable (the log, for XFS). */
    default int syncFs(SuperBlock sb) {
        return 0;
    }

    /** put_super(): the last step of unmount, after every inode was evicted. */
    void putSuper(SuperBlock sb);
}
