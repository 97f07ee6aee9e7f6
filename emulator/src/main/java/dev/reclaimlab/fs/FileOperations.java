package dev.reclaimlab.fs;

import dev.reclaimlab.mm.FileRaState;

/** struct file_operations for regular files (include/linux/fs.h): negative errnos on failure. */
public interface FileOperations {
    /**
     * read_iter(): up to {@code len} bytes at {@code pos} into {@code to}; bytes read (0 at EOF). {@code ra}
     * is the open file's readahead state (struct file's f_ra), shared by everyone reading that file.
     */
    long readIter(Inode inode, FileRaState ra, long pos, IovIter to, int len);

    /** write_iter(): {@code len} bytes from {@code from} at {@code pos}; bytes written. */
    long writeIter(Inode inode, long pos, IovIter from, int len);

    /** fsync(): data and the metadata needed to find it are stable; the first write error since the last fsync. */
    int fsync(Inode inode);

    /** flush(): called by close() of a file open for writing (NFS writes and commits here); 0 or an errno. */
    default int flush(Inode inode) {
        return 0;
    }
}
