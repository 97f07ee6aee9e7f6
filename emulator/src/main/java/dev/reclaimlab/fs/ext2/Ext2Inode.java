package dev.reclaimlab.fs.ext2;

import dev.reclaimlab.fs.buffer.Semaphore22;
import dev.reclaimlab.swap.Mapping22;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An in-core ext2 inode of Linux 2.2 (struct inode with ext2_inode_info): i_sem (a 2.2.1 semaphore, so its
 * owner may take it again), i_size, i_count and i_nlink, the block group it lives in, its page cache, i_blocks,
 * i_next_alloc_block and i_next_alloc_goal, and i_data[EXT2_N_BLOCKS]: 12 direct blocks, then the indirect,
 * double-indirect and triple-indirect block, whose contents are on the device ({@link Ext2BlockMap}). The inode
 * itself and directory contents are kept in memory (departure: 2.2 reads the inode table through the
 * buffer cache).
 */
public final class Ext2Inode {
    static final int EXT2_NDIR_BLOCKS = 12;
    static final int EXT2_IND_BLOCK = EXT2_NDIR_BLOCKS;
    static final int EXT2_DIND_BLOCK = EXT2_IND_BLOCK + 1;
    static final int EXT2_TIND_BLOCK = EXT2_DIND_BLOCK + 1;
    static final int EXT2_N_BLOCKS = EXT2_TIND_BLOCK + 1;
    private static final VarHandle BLOCK = MethodHandles.arrayElementVarHandle(int[].class);

    final Ext2Fs fs;
    final long ino;
    final int group;
    final boolean dir;
    final Semaphore22 iSem;
    final Mapping22 mapping;
    volatile long iSize;
    // i_data: block numbers, 0 for a hole; written under i_sem, read without it (ext2_bmap()).
    private final int[] iData = new int[EXT2_N_BLOCKS];
    // i_blocks in 512-byte sectors, and how many of those blocks are map blocks (for tests); under i_sem.
    volatile long iBlocks;
    volatile int mapBlocks;
    long nextAllocBlock;
    long nextAllocGoal;
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

    /** i_data[nr]: a block number (unsigned), 0 for none. */
    long iData(int nr) {
        return Integer.toUnsignedLong((int) BLOCK.getVolatile(iData, nr));
    }

    /** Sets i_data[nr]; i_sem held. */
    void setIData(int nr, long block) {
        BLOCK.setVolatile(iData, nr, (int) block);
    }

    /** ext2_bmap(): the physical block of logical {@code block}, 0 for a hole; reads map blocks on the way. */
    long bmap(long block) {
        return fs.blockMap().bmap(this, block);
    }

    /** i_blocks: 512-byte sectors allocated, data and map blocks. */
    public long iBlocks() {
        return iBlocks;
    }

    /** Map (indirect, double- and triple-indirect) blocks allocated. */
    public int nrMapBlocks() {
        return mapBlocks;
    }

    /** Data blocks allocated (for tests: a sparse file has holes). */
    public int nrBlocks() {
        return (int) (iBlocks / (fs.blocksize() / 512)) - mapBlocks;
    }

    @Override
    public String toString() {
        return "ext2 inode " + fs.dev().name() + ":" + ino + " size " + iSize;
    }
}
