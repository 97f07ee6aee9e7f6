package dev.reclaimlab.swap;

import dev.reclaimlab.fs.buffer.Semaphore22;

/**
 * What mm/filemap.c of Linux 2.2 needs from a struct file and its inode: the page cache, i_sem, i_size,
 * i_op->readpage, f_op->write from kernel memory (set_fs(KERNEL_DS)), and the file's count (f_count), which
 * keeps the inode alive while a page write is queued.
 */
public interface File22 {
    String name();

    Mapping22 mapping();

    Semaphore22 iSem();

    long iSize();

    /** i_op->readpage(): starts reading {@code page} (locked by it, unlocked by the IO); 0 or -errno. */
    int readpage(Page22 page);

    /** f_op->write() of {@code len} bytes at kernel address {@code kaddr} to {@code pos}; i_sem held. */
    long writeKernel(long kaddr, int len, long pos);

    /** file->f_count++. */
    void fget();

    /** fput(): the last one releases the file (and may delete an unlinked inode). */
    void fput();
}
