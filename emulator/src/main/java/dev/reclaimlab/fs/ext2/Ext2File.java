package dev.reclaimlab.fs.ext2;

import dev.reclaimlab.fs.buffer.BufferCache;
import dev.reclaimlab.fs.buffer.BufferHead;
import dev.reclaimlab.fs.buffer.Semaphore22;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.swap.File22;
import dev.reclaimlab.swap.Mapping22;
import dev.reclaimlab.swap.Page22;
import dev.reclaimlab.swap.Process22;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * An open ext2 file of Linux 2.2 (struct file on fs/ext2/file.c): sys_write() takes i_sem around
 * ext2_file_write(), which maps each block with ext2_getblk() (reading the file's map blocks, and allocating a
 * hole's map and data blocks with ext2_new_block() under lock_super: {@link Ext2BlockMap}), reads a partially
 * written block that is not uptodate, copies the data into the buffer, keeps the page cache coherent with
 * update_vm_cache() and marks the buffer dirty for bdflush. read() is generic_file_read(); readpage() is
 * generic_readpage() through ext2_bmap(). The same write serves do_write_page() for a shared mapping (kernel
 * memory as the source, i_sem held by the caller). f_count keeps the inode referenced.
 */
public final class Ext2File implements File22 {
    /** The largest position 2.2's ext2_file_write() holds: its pos is a __u32. */
    static final long U32_MAX = 0xFFFF_FFFFL;

    /**
     * Where ext2_file_write() copies from: a user buffer, kernel memory, a Java array. Returns the bytes it could
     * not copy, as copy_from_user() does.
     */
    @FunctionalInterface
    interface Source {
        int copy(long dstKaddr, long srcOffset, int len);
    }

    private final Ext2Fs fs;
    private final Ext2Inode ip;
    private final AtomicInteger fCount = new AtomicInteger(1);

    Ext2File(Ext2Fs fs, Ext2Inode ip) {
        this.fs = fs;
        this.ip = ip;
    }

    public Ext2Inode inode() {
        return ip;
    }

    public Ext2Fs fs() {
        return fs;
    }

    @Override
    public String name() {
        return "ext2 " + fs.dev().name() + ":" + ip.ino;
    }

    @Override
    public Mapping22 mapping() {
        return ip.mapping;
    }

    @Override
    public Semaphore22 iSem() {
        return ip.iSem;
    }

    @Override
    public long iSize() {
        return ip.iSize;
    }

    @Override
    public int readpage(Page22 page) {
        return fs.buffers().genericReadpage(page, fs.dev(), fs.blocksize(), ip::bmap);
    }

    @Override
    public long writeKernel(long kaddr, int len, long pos) {
        checkLive("writeKernel");
        checkRange(len, pos, "writeKernel");
        PhysMem mem = fs.mm22().mem();
        mem.checkRange(kaddr, len, "writeKernel(" + name() + ")");
        return ext2FileWrite((dst, so, n) -> {
            mem.memcpy(dst, kaddr + so, n);
            return 0;
        }, len, pos);
    }

    @Override
    public void fget() {
        if (fCount.getAndIncrement() <= 0) {
            fCount.decrementAndGet();
            throw new IllegalStateException("fget of released " + this);
        }
    }

    @Override
    public void fput() {
        int c = fCount.decrementAndGet();
        if (c < 0) {
            fCount.incrementAndGet();
            throw new IllegalStateException("fput of released " + this);
        }
        if (c == 0) {
            fs.iput(ip);
        }
    }

    /** close(): fput(). */
    public void close() {
        fput();
    }

    /** write(2) from a Java buffer: bytes written or -errno. */
    public long write(byte[] src, int off, int len, long pos) {
        checkLive("write");
        if (off < 0 || len < 0 || off + len > src.length || pos < 0) {
            throw new IllegalArgumentException("write(" + name() + "): bad buffer range " + off + "+" + len
                    + " of " + src.length + " at " + pos);
        }
        PhysMem mem = fs.mm22().mem();
        ip.iSem.down();
        try {
            return ext2FileWrite((dst, so, n) -> {
                mem.copyIn(dst, src, off + (int) so, n);
                return 0;
            }, len, pos);
        } finally {
            ip.iSem.up();
        }
    }

    /**
     * write(2) from a process's memory (copy_from_user(), which may fault): a buffer with no mapping ends the
     * write there, -EFAULT when nothing was written (2.2's ext2_file_write(); the process gets no signal).
     */
    public long writeUser(Process22 p, long uaddr, int len, long pos) {
        checkLive("writeUser");
        checkRange(len, pos, "writeUser");
        ip.iSem.down();
        try {
            return ext2FileWrite((dst, so, n) -> p.mm22().memory().copyFromUser(p, dst, uaddr + so, n), len, pos);
        } finally {
            ip.iSem.up();
        }
    }

    /** read(2) into a Java buffer: bytes read or -errno. */
    public long read(byte[] dst, int off, int len, long pos) {
        checkLive("read");
        if (off < 0 || len < 0 || off + len > dst.length || pos < 0) {
            throw new IllegalArgumentException("read(" + name() + "): bad buffer range " + off + "+" + len
                    + " of " + dst.length + " at " + pos);
        }
        PhysMem mem = fs.mm22().mem();
        return fs.mm22().pageCache().doGenericFileRead(this, pos, len,
                (k, d, n) -> {
                    mem.copyOut(k, dst, off + (int) d, n);
                    return 0;
                });
    }

    /**
     * read(2) into a process's memory (copy_to_user(), which may fault): a buffer with no mapping ends the read
     * there, -EFAULT when nothing was read (2.2's file_read_actor()).
     */
    public long readToUser(Process22 p, long uaddr, int len, long pos) {
        checkLive("readToUser");
        checkRange(len, pos, "readToUser");
        return fs.mm22().pageCache().doGenericFileRead(this, pos, len,
                (k, d, n) -> p.mm22().memory().copyToUser(p, uaddr + d, k, n));
    }

    /**
     * ftruncate(2): a larger size leaves a hole; a smaller one frees the blocks beyond it. A size that is negative
     * as 2.2's i386 off_t (2^31 or more, or negative) is -EINVAL, as do_truncate()'s "(off_t) length < 0".
     */
    public int ftruncate(long size) {
        checkLive("ftruncate");
        if (size < 0 || size > Integer.MAX_VALUE) {
            return -Errno.EINVAL;
        }
        ip.iSem.down();
        try {
            if (size < ip.iSize) {
                truncateBlocks(fs, ip, size);
            }
            ip.iSize = size;
            return 0;
        } finally {
            ip.iSem.up();
        }
    }

    /** The file must still be open: after its last fput() its inode may be gone. */
    private void checkLive(String what) {
        if (fCount.get() <= 0) {
            throw new IllegalStateException(what + " of released " + this);
        }
    }

    private void checkRange(int len, long pos, String what) {
        if (len < 0 || pos < 0) {
            throw new IllegalArgumentException(what + "(" + name() + "): negative length " + len + " or position "
                    + pos);
        }
    }

    /** ext2_getblk(inode, block, create 1): the block's buffer, allocating a hole; null with err[0] set. */
    private BufferHead ext2Getblk(long block, long[] err) {
        return fs.blockMap().getblk(ip, block, true, err);
    }

    /**
     * ext2_file_write(); i_sem held. Bytes written, or -errno when nothing was. 2.2's position is a __u32: one that
     * does not fit ("pos != *ppos") is -EINVAL, and a write that would carry it past 0xFFFFFFFF is cut short there
     * ("Check for overflow..", count = ~pos), -EFBIG when nothing is left of it.
     */
    long ext2FileWrite(Source src, int count, long pos) {
        if (count == 0) {
            return 0;
        }
        if (pos > U32_MAX) {
            return -Errno.EINVAL;
        }
        if (pos + count > U32_MAX) {
            count = (int) (U32_MAX - pos);
            if (count == 0) {
                return -Errno.EFBIG;
            }
        }
        BufferCache buffers = fs.buffers();
        int bs = fs.blocksize();
        long block = pos / bs;
        int offset = (int) (pos % bs);
        int c = bs - offset;
        long written = 0;
        long[] err = new long[1];
        while (count > 0) {
            BufferHead bh = ext2Getblk(block, err);
            if (bh == null) {
                if (written == 0) {
                    written = err[0];
                }
                break;
            }
            if (c > count) {
                c = count;
            }
            if (c != bs && !buffers.readBuffer(bh)) {
                if (written == 0) {
                    written = -Errno.EIO;
                }
                break;
            }
            try {
                c -= src.copy(bh.data() + offset, written, c);
            } catch (RuntimeException e) {
                // A signal in the copy (SIGKILL, SIGBUS) or a refused source: the buffer is not kept.
                buffers.brelse(bh);
                throw e;
            }
            if (c == 0) {
                buffers.brelse(bh);
                if (written == 0) {
                    written = -Errno.EFAULT;
                }
                break;
            }
            fs.mm22().pageCache().updateVmCache(ip.mapping, pos, bh.data() + offset, c);
            pos += c;
            written += c;
            count -= c;
            buffers.markBufferUptodate(bh, true);
            buffers.markBufferDirty(bh, false);
            buffers.brelse(bh);
            block++;
            offset = 0;
            c = bs;
        }
        if (pos > ip.iSize && written > 0) {
            ip.iSize = pos;
        }
        return written;
    }

    /**
     * do_truncate() to {@code size}: i_size first, then vmtruncate() (the cached pages beyond it, then every
     * mapping's ptes beyond it), then ext2_truncate() ({@link Ext2Truncate}). i_sem held.
     */
    static void truncateBlocks(Ext2Fs fs, Ext2Inode ip, long size) {
        ip.iSize = size;
        fs.mm22().pageCache().truncateInodePages(ip.mapping, size);
        fs.mm22().memory().vmtruncate(ip.mapping, size);
        Ext2Truncate.ext2Truncate(fs, ip);
    }

    @Override
    public String toString() {
        return name() + " (f_count " + fCount.get() + ")";
    }
}
