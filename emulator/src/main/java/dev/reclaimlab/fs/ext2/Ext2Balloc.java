package dev.reclaimlab.fs.ext2;

import dev.reclaimlab.fs.buffer.BufferCache;
import dev.reclaimlab.fs.buffer.BufferHead;
import dev.reclaimlab.fs.buffer.LockSuper;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.mm.PhysMem;

/**
 * fs/ext2/balloc.c as in Linux 2.2.0 to 2.2.11: ext2_new_block() and ext2_free_blocks() under lock_super(),
 * with the LRU of eight block bitmaps that load_block_bitmap() keeps ({@link Ext2BitmapLru}): a bitmap not in
 * it is read with bread() while the superblock is locked, and a failed read makes the call fail with -EIO
 * after unlock_super(). A new block is zeroed through getblk() still under lock_super, as these releases
 * did. No preallocation.
 */
final class Ext2Balloc {
    private final Ext2Fs fs;
    private final BufferCache buffers;
    private final PhysMem mem;
    private final Ext2BitmapLru blockBitmaps;

    Ext2Balloc(Ext2Fs fs) {
        this.fs = fs;
        this.buffers = fs.buffers();
        this.mem = fs.mm22().mem();
        this.blockBitmaps = new Ext2BitmapLru(fs, "block", fs::blockBitmapBlock);
    }

    /** Block bitmaps read from the device under lock_super (LRU misses). */
    long bitmapReads() {
        return blockBitmaps.reads();
    }

    /** LRU misses whose bread() found no uptodate buffer and read the device, lock_super held. */
    long bitmapIos() {
        return blockBitmaps.ios();
    }

    /** load_block_bitmap(): the LRU slot holding {@code group}'s bitmap, or -EIO. lock_super held. */
    int loadBlockBitmap(int group) {
        return blockBitmaps.load(group);
    }

    private boolean testBit(BufferHead bh, int bit) {
        return Ext2Bitops.testBit(mem, bh, bit);
    }

    private boolean setBit(BufferHead bh, int bit) {
        return Ext2Bitops.setBit(mem, bh, bit);
    }

    private boolean clearBit(BufferHead bh, int bit) {
        return Ext2Bitops.clearBit(mem, bh, bit);
    }

    private int findNextZeroBit(BufferHead bh, int size, int from) {
        return Ext2Bitops.findNextZeroBit(mem, bh, size, from);
    }

    /** memscan() for a zero byte from bit {@code from}: the bit of the first free byte, or {@code size}. */
    private int findZeroByte(BufferHead bh, int size, int from) {
        for (int j = (from + 7) & ~7; j < size; j += 8) {
            if (mem.getByte(bh.data() + (j >> 3)) == 0) {
                return j;
            }
        }
        return size;
    }

    /**
     * ext2_new_block(): a free block near {@code goal}, marked in its bitmap and zeroed, or a negative errno
     * (-ENOSPC, -EIO).
     */
    long newBlock(Ext2Inode inode, long goal) {
        LockSuper sb = fs.sLock();
        sb.lockSuper();
        try {
            int bpg = fs.blocksPerGroup();
            if (fs.freeBlocksCount() <= 0) {
                return -Errno.ENOSPC;
            }
            if (goal < Ext2Fs.FIRST_DATA_BLOCK || goal >= fs.blocksCount()) {
                goal = Ext2Fs.FIRST_DATA_BLOCK;
            }
            int i = (int) ((goal - Ext2Fs.FIRST_DATA_BLOCK) / bpg);
            int j = -1;
            BufferHead bh = null;
            int size = fs.groupBlocks(i);
            if (fs.groupFree(i) > 0) {
                int g = (int) ((goal - Ext2Fs.FIRST_DATA_BLOCK) % bpg);
                int slot = loadBlockBitmap(i);
                if (slot < 0) {
                    return slot;
                }
                bh = blockBitmaps.bh(slot);
                if (!testBit(bh, g)) {
                    j = g;
                } else {
                    int endGoal = Math.min(size, (g + 63) & ~63);
                    int k = findNextZeroBit(bh, endGoal, g);
                    if (k < endGoal) {
                        j = k;
                    } else {
                        k = findZeroByte(bh, size, g);
                        if (k < size) {
                            j = searchBack(bh, k);
                        } else {
                            k = findNextZeroBit(bh, size, g);
                            if (k < size) {
                                j = k;
                            }
                        }
                    }
                }
            }
            if (j < 0) {
                int k;
                for (k = 0; k < fs.groupsCount(); k++) {
                    i = (i + 1) % fs.groupsCount();
                    if (fs.groupFree(i) > 0) {
                        break;
                    }
                }
                if (k >= fs.groupsCount()) {
                    return -Errno.ENOSPC;
                }
                int slot = loadBlockBitmap(i);
                if (slot < 0) {
                    return slot;
                }
                bh = blockBitmaps.bh(slot);
                size = fs.groupBlocks(i);
                int z = findZeroByte(bh, size, 0);
                j = z < size ? searchBack(bh, z) : findNextZeroBit(bh, size, 0);
                if (j >= size) {
                    fs.ext2Error("ext2_new_block", "Free blocks count corrupted for block group " + i);
                    return -Errno.ENOSPC;
                }
            }
            if (setBit(bh, j)) {
                fs.ext2Error("ext2_new_block", "bit already set for block " + j);
                return -Errno.EIO;
            }
            long block = Ext2Fs.FIRST_DATA_BLOCK + (long) i * bpg + j;
            buffers.markBufferDirty(bh, true);
            // 2.2.0-2.2.11: the new block is zeroed through the buffer cache while the superblock is locked.
            BufferHead nb = buffers.getblk(fs.dev(), block, fs.blocksize());
            mem.memset(nb.data(), 0, fs.blocksize());
            buffers.markBufferUptodate(nb, true);
            buffers.markBufferDirty(nb, false);
            buffers.brelse(nb);
            fs.groupAllocated(i, 1);
            return block;
        } finally {
            sb.unlockSuper();
        }
    }

    private int searchBack(BufferHead bh, int j) {
        for (int k = 0; k < 7 && j > 0 && !testBit(bh, j - 1); k++) {
            j--;
        }
        return j;
    }

    /** ext2_free_blocks(): {@code count} blocks from {@code block}; -EIO when a bitmap cannot be read. */
    int freeBlocks(long block, int count) {
        LockSuper sb = fs.sLock();
        sb.lockSuper();
        try {
            if (block < Ext2Fs.FIRST_DATA_BLOCK || block + count > fs.blocksCount()) {
                fs.ext2Error("ext2_free_blocks", "Freeing blocks not in datazone - block = " + block + ", count = "
                        + count);
                return -Errno.EIO;
            }
            for (long b = block; b < block + count; b++) {
                int group = (int) ((b - Ext2Fs.FIRST_DATA_BLOCK) / fs.blocksPerGroup());
                int bit = (int) ((b - Ext2Fs.FIRST_DATA_BLOCK) % fs.blocksPerGroup());
                int slot = loadBlockBitmap(group);
                if (slot < 0) {
                    return slot;
                }
                BufferHead bh = blockBitmaps.bh(slot);
                if (!clearBit(bh, bit)) {
                    fs.ext2Error("ext2_free_blocks", "bit already cleared for block " + b);
                } else {
                    fs.groupAllocated(group, -1);
                }
                buffers.markBufferDirty(bh, true);
            }
            return 0;
        } finally {
            sb.unlockSuper();
        }
    }
}
