package dev.reclaimlab.fs.ext2;

import dev.reclaimlab.fs.buffer.Semaphore22;
import dev.reclaimlab.swap.Mapping22;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An in-core ext2 inode of Linux 2.2 (struct inode with ext2_inode_info): i_sem (a 2.2.1 semaphore, so its
 * owner may take it again), i_size, i_count and i_nlink, the block group it lives in, its page cache, and its
 * block map. The block map (i_block[] with its indirect blocks) and directory contents are kept in memory:
 * only block bitmaps and file data are on the device.
 */
public final class Ext2Inode {
    private static final VarHandle BLOCK = MethodHandles.arrayElementVarHandle(int[].class);

    final Ext2Fs fs;
    final long ino;
    final int group;
    final boolean dir;
    final Semaphore22 iSem;
    final Mapping22 mapping;
    volatile long iSize;
    // Logical block -> physical block, 0 for a hole. Replaced whole when it grows; written under i_sem.
    volatile int[] blocks = new int[0];
    final AtomicInteger iCount = new AtomicInteger();
    volatile int iNlink = 1;
    final Map<String, Ext2Inode> entries;

    Ext2Inode(Ext2Fs fs, long ino, int group, boolean dir) {
        this.fs = fs;
        this.ino = ino;
        this.group = group;
        this.dir = dir;
        String name = fs.dev().name() + ":" + ino;
        this.iSem = new Semaphore22("i_sem of inode " + name);
        this.mapping = new Mapping22("inode " + name);
        this.entries = dir ? new HashMap<>() : null;
    }

    public long ino() {
        return ino;
    }

    public long size() {
        return iSize;
    }

    public int group() {
        return group;
    }

    /** ext2_bmap(): the physical block of logical {@code block}, 0 for a hole. */
    long bmap(long block) {
        int[] b = blocks;
        return block < b.length ? (int) BLOCK.getVolatile(b, (int) block) : 0;
    }

    /** Sets one block of the map; i_sem (or lock_super for truncation) serialises writers. */
    void setBlock(long block, int phys) {
        int[] b = blocks;
        if (block >= b.length) {
            b = Arrays.copyOf(b, (int) Math.max(block + 1, Math.max(16, b.length * 2L)));
            BLOCK.setVolatile(b, (int) block, phys);
            blocks = b;
            return;
        }
        BLOCK.setVolatile(b, (int) block, phys);
    }

    /** Allocated blocks (for tests: a sparse file has holes). */
    public int nrBlocks() {
        int n = 0;
        for (int x : blocks) {
            if (x != 0) {
                n++;
            }
        }
        return n;
    }

    @Override
    public String toString() {
        return "ext2 inode " + fs.dev().name() + ":" + ino + " size " + iSize;
    }
}
