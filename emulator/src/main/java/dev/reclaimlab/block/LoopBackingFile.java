package dev.reclaimlab.block;

/**
 * The file under a loop device (struct file of lo_backing_file, seen through the VFS calls loop.c makes
 * after "block: loop: switch to VFS ITER_BVEC": vfs_iter_read(), vfs_iter_write(), vfs_fsync()). Every call
 * runs on a loop worker, as that worker; whatever the file allocates inside is allocated by the worker,
 * under its memalloc scope. Each returns 0 or a negative errno.
 */
public interface LoopBackingFile {
    /** i_size of the backing file in bytes; the device has that many whole sectors. */
    long loopSize();

    /** Reads {@code len} bytes at file offset {@code pos} into kernel page {@code pfn} at {@code offset}. */
    int loopReadIter(long pos, int pfn, int offset, int len);

    /** Writes {@code len} bytes of kernel page {@code pfn} at {@code offset} to file offset {@code pos}. */
    int loopWriteIter(long pos, int pfn, int offset, int len);

    /** vfs_fsync() for a FLUSH. */
    int loopFsync();
}
