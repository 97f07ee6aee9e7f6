package dev.reclaimlab.fs;

/** struct file_operations for regular files (include/linux/fs.h): negative errnos on failure. */
public interface FileOperations {
    /** read_iter(): up to {@code len} bytes at {@code pos} into {@code out[off..]}; bytes read (0 at EOF). */
    long readIter(Inode inode, long pos, byte[] out, int off, int len);

    /** write_iter(): {@code len} bytes of {@code data[off..]} at {@code pos}; bytes written. */
    long writeIter(Inode inode, long pos, byte[] data, int off, int len);

    /** fsync(): data and the metadata needed to find it are stable; the first write error since the last fsync. */
    int fsync(Inode inode);
}
