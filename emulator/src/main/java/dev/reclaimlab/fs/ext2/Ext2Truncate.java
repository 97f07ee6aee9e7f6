package dev.reclaimlab.fs.ext2;

import dev.reclaimlab.fs.buffer.BufferCache;
import dev.reclaimlab.fs.buffer.BufferHead;

/**
 * ext2_truncate() of fs/ext2/truncate.c as in Linux 2.2 (read in a 2.2-era copy, "General cleanup and race
 * fixes, wsh, 1998"): trunc_direct(), then trunc_indirect(), trunc_dindirect() and trunc_tindirect() for the
 * map blocks in i_data[12..14]. Each reads its map block with bread() (so a map that left the buffer cache is
 * read from the device again), clears every pointer at or beyond the new size, marks the map block dirty,
 * frees the blocks in contiguous runs with ext2_free_blocks() and, in check_block_empty(), frees the map block
 * itself once all its pointers are 0. A map block that cannot be read is reported and its pointer cleared (its
 * blocks leak, as in 2.2). Then the tail of a partial last block is zeroed through ext2_bread(). Departures:
 * no bforget() and so no find_buffer()/b_count retry loop (a freed block's buffer stays and is written out
 * or reused, zeroed, by ext2_new_block()). i_sem held; i_size already the new size.
 */
final class Ext2Truncate {
    private final Ext2Fs fs;
    private final Ext2BlockMap map;
    private final BufferCache buffers;
    private final int addrPerBlock;
    private final int blocks;
    private long blockToFree;
    private int freeCount;

    private Ext2Truncate(Ext2Fs fs) {
        this.fs = fs;
        this.map = fs.blockMap();
        this.buffers = fs.buffers();
        this.addrPerBlock = map.addrPerBlock();
        this.blocks = fs.blocksize() / 512;
    }

    /** ext2_truncate(): frees every block of {@code ip} at or beyond i_size. */
    static void ext2Truncate(Ext2Fs fs, Ext2Inode ip) {
        new Ext2Truncate(fs).truncate(ip);
    }

    private void truncate(Ext2Inode ip) {
        long directBlock = (ip.iSize + fs.blocksize() - 1) / fs.blocksize();
        truncDirect(ip, directBlock);
        long offset = Ext2Inode.EXT2_IND_BLOCK;
        truncIndirect(ip, directBlock, offset, null, Ext2Inode.EXT2_IND_BLOCK);
        offset += addrPerBlock;
        truncDindirect(ip, directBlock, offset, null, Ext2Inode.EXT2_DIND_BLOCK);
        offset += (long) addrPerBlock * addrPerBlock;
        truncTindirect(ip, directBlock, offset);
        zeroPartialBlock(ip);
    }

    private long slot(Ext2Inode ip, BufferHead parent, int nr) {
        return parent == null ? ip.iData(nr) : Integer.toUnsignedLong(map.getLe32(parent, nr));
    }

    private void clearSlot(Ext2Inode ip, BufferHead parent, int nr) {
        if (parent == null) {
            ip.setIData(nr, 0);
        } else {
            map.putLe32(parent, nr, 0);
            buffers.markBufferDirty(parent, true);
        }
    }

    /** Accumulates {@code tmp} into the run to free; frees the run it does not extend. */
    private void free(long tmp) {
        if (freeCount > 0 && blockToFree + freeCount == tmp) {
            freeCount++;
            return;
        }
        flush();
        blockToFree = tmp;
        freeCount = 1;
    }

    private void flush() {
        if (freeCount > 0) {
            fs.balloc().freeBlocks(blockToFree, freeCount);
            freeCount = 0;
        }
    }

    private void truncDirect(Ext2Inode ip, long directBlock) {
        for (long i = directBlock; i < Ext2Inode.EXT2_NDIR_BLOCKS; i++) {
            long tmp = ip.iData((int) i);
            if (tmp == 0) {
                continue;
            }
            ip.setIData((int) i, 0);
            ip.iBlocks -= blocks;
            free(tmp);
        }
        flush();
    }

    /** The map block in {@code parent}'s slot {@code nr}, read; null (slot cleared if unreadable) if none. */
    private BufferHead readMap(Ext2Inode ip, BufferHead parent, int nr, String function) {
        long tmp = slot(ip, parent, nr);
        if (tmp == 0) {
            return null;
        }
        BufferHead bh = map.breadMap(tmp);
        if (bh == null) {
            fs.ext2Error(function, "Read failure, inode=" + ip.ino + ", block=" + tmp);
            clearSlot(ip, parent, nr);
        }
        return bh;
    }

    private void truncIndirect(Ext2Inode ip, long directBlock, long offset, BufferHead parent, int nr) {
        BufferHead ind = readMap(ip, parent, nr, "trunc_indirect");
        if (ind == null) {
            return;
        }
        long from = Math.max(0, directBlock - offset);
        for (long i = from; i < addrPerBlock; i++) {
            long tmp = Integer.toUnsignedLong(map.getLe32(ind, (int) i));
            if (tmp == 0) {
                continue;
            }
            map.putLe32(ind, (int) i, 0);
            ip.iBlocks -= blocks;
            buffers.markBufferDirty(ind, true);
            free(tmp);
        }
        flush();
        checkBlockEmpty(ip, ind, parent, nr);
    }

    private void truncDindirect(Ext2Inode ip, long directBlock, long offset, BufferHead parent, int nr) {
        BufferHead dind = readMap(ip, parent, nr, "trunc_dindirect");
        if (dind == null) {
            return;
        }
        long from = Math.max(0, (directBlock - offset) / addrPerBlock);
        for (long i = from; i < addrPerBlock; i++) {
            truncIndirect(ip, directBlock, offset + i * addrPerBlock, dind, (int) i);
        }
        checkBlockEmpty(ip, dind, parent, nr);
    }

    private void truncTindirect(Ext2Inode ip, long directBlock, long offset) {
        BufferHead tind = readMap(ip, null, Ext2Inode.EXT2_TIND_BLOCK, "trunc_tindirect");
        if (tind == null) {
            return;
        }
        long perDind = (long) addrPerBlock * addrPerBlock;
        long from = Math.max(0, (directBlock - offset) / perDind);
        for (long i = from; i < addrPerBlock; i++) {
            truncDindirect(ip, directBlock, offset + i * perDind, tind, (int) i);
        }
        checkBlockEmpty(ip, tind, null, Ext2Inode.EXT2_TIND_BLOCK);
    }

    /** check_block_empty(): frees map block {@code bh} if none of its slots is in use; releases it. */
    private void checkBlockEmpty(Ext2Inode ip, BufferHead bh, BufferHead parent, int nr) {
        for (int i = 0; i < addrPerBlock; i++) {
            if (map.getLe32(bh, i) != 0) {
                buffers.brelse(bh);
                return;
            }
        }
        long tmp = slot(ip, parent, nr);
        clearSlot(ip, parent, nr);
        ip.iBlocks -= blocks;
        ip.mapBlocks--;
        buffers.brelse(bh);
        fs.balloc().freeBlocks(tmp, 1);
    }

    /** The part of the last block beyond i_size is zeroed, in case the file grows over it again. */
    private void zeroPartialBlock(Ext2Inode ip) {
        int offset = (int) (ip.iSize & (fs.blocksize() - 1));
        if (offset == 0) {
            return;
        }
        long[] err = new long[1];
        BufferHead bh = map.getblk(ip, ip.iSize / fs.blocksize(), false, err);
        if (bh == null || !buffers.readBuffer(bh)) {
            return;
        }
        fs.mm22().mem().memset(bh.data() + offset, 0, fs.blocksize() - offset);
        buffers.markBufferDirty(bh, false);
        buffers.brelse(bh);
    }
}
