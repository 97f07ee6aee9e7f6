package dev.reclaimlab.fs.ext2;

import dev.reclaimlab.fs.buffer.BufferCache;
import dev.reclaimlab.fs.buffer.BufferHead;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.mm.PhysMem;

/**
 * The inode-bitmap half of fs/ext2/ialloc.c as in Linux 2.2: ext2_new_inode() and ext2_free_inode() hold
 * lock_super() while they find and set, or clear, the inode's bit in its group's inode bitmap, which
 * load_inode_bitmap() keeps in its own LRU of eight ({@link Ext2BitmapLru}); a group not in it is read with
 * bread() with the superblock locked, so creating or deleting a file in a ninth group reads the device under
 * lock_super, like a block allocation does. The bitmap buffer is marked dirty for bdflush. Inode numbers
 * are 2.2's: group * inodes-per-group + bit + 1; inodes 1 to 10 are reserved (EXT2_GOOD_OLD_FIRST_INO 11),
 * 2 is the root. Group choice and the descriptors' counts stay with {@link Ext2Fs}. Caller holds lock_super.
 */
final class Ext2Ialloc {
    static final int EXT2_ROOT_INO = 2;
    static final int EXT2_GOOD_OLD_FIRST_INO = 11;

    private final Ext2Fs fs;
    private final BufferCache buffers;
    private final PhysMem mem;
    private final int inodesPerGroup;
    private final Ext2BitmapLru inodeBitmaps;

    Ext2Ialloc(Ext2Fs fs, int inodesPerGroup) {
        this.fs = fs;
        this.buffers = fs.buffers();
        this.mem = fs.mm22().mem();
        this.inodesPerGroup = inodesPerGroup;
        this.inodeBitmaps = new Ext2BitmapLru(fs, "inode", fs::inodeBitmapBlock);
    }

    /** Inode bitmaps read under lock_super (LRU misses). */
    long bitmapReads() {
        return inodeBitmaps.reads();
    }

    /** Of those, the reads that found no uptodate buffer and went to the device. */
    long bitmapIos() {
        return inodeBitmaps.ios();
    }

    /** mke2fs: {@code group}'s inode bitmap, with the reserved inodes of group 0 and the root marked used. */
    void mkfsBitmap(int group) {
        BufferHead bh = buffers.getblk(fs.dev(), fs.inodeBitmapBlock(group), fs.blocksize());
        mem.memset(bh.data(), 0, fs.blocksize());
        if (group == 0) {
            for (int bit = 0; bit < EXT2_GOOD_OLD_FIRST_INO - 1; bit++) {
                Ext2Bitops.setBit(mem, bh, bit);
            }
        }
        buffers.markBufferUptodate(bh, true);
        buffers.markBufferDirty(bh, true);
        buffers.brelse(bh);
    }

    /**
     * ext2_new_inode()'s bitmap step in {@code group}: the new inode's number, -EIO when the bitmap cannot be
     * read, 0 when the bitmap has no clear bit (the descriptor's count was wrong).
     */
    long newInodeNumber(int group) {
        int slot = inodeBitmaps.load(group);
        if (slot < 0) {
            return slot;
        }
        BufferHead bh = inodeBitmaps.bh(slot);
        int j = Ext2Bitops.findNextZeroBit(mem, bh, inodesPerGroup, 0);
        if (j >= inodesPerGroup) {
            fs.ext2Error("ext2_new_inode", "Free inodes count corrupted in group " + group);
            return 0;
        }
        Ext2Bitops.setBit(mem, bh, j);
        buffers.markBufferDirty(bh, true);
        return (long) group * inodesPerGroup + j + 1;
    }

    /** ext2_free_inode()'s bitmap step: clears {@code ino}'s bit; -EIO when the bitmap cannot be read. */
    int freeInodeNumber(long ino) {
        if (ino < EXT2_GOOD_OLD_FIRST_INO) {
            fs.ext2Error("free_inode", "reserved inode or nonexistent inode");
            return -Errno.EIO;
        }
        int group = (int) ((ino - 1) / inodesPerGroup);
        int bit = (int) ((ino - 1) % inodesPerGroup);
        int slot = inodeBitmaps.load(group);
        if (slot < 0) {
            return slot;
        }
        BufferHead bh = inodeBitmaps.bh(slot);
        if (!Ext2Bitops.clearBit(mem, bh, bit)) {
            fs.ext2Error("ext2_free_inode", "bit already cleared for inode " + ino);
        }
        buffers.markBufferDirty(bh, true);
        return 0;
    }
}
