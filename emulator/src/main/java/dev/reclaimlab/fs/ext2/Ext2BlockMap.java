package dev.reclaimlab.fs.ext2;

import dev.reclaimlab.fs.buffer.BufferCache;
import dev.reclaimlab.fs.buffer.BufferHead;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.mm.PhysMem;

import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A file's block map as fs/ext2/inode.c of Linux 2.2 keeps it (read in a 2.2-era copy: u32 block pointers,
 * i_osync, ext2_delete_inode(); no 2.2.1 inode.c is in the index, and the 2.0 and 2.4-era copies have the same
 * walk): i_data[0..11] are direct, i_data[12] an indirect block of 256 little-endian block numbers,
 * [13] double-indirect, [14] triple-indirect. ext2_bmap() walks it with bread() and block_bmap(), so a map
 * block not in the buffer cache is read from the device; ext2_getblk() walks it with inode_getblk() and
 * block_getblk() (getblk(), then ll_rw_block(READ) if not uptodate) and, when it meets a hole, allocates the
 * missing map block or data block with ext2_new_block() (lock_super, zeroed there as 2.2.0-2.2.11 did), the
 * goal being i_next_alloc_goal for a sequential write, else the nearest earlier block in the same map block,
 * else the map block itself (or the group's first block for i_data). A new pointer in a map block marks it
 * dirty for bdflush. Not modelled: preallocation, RLIMIT_FSIZE, O_SYNC, the recheck after getblk() for a
 * racing truncate (every writer of a map holds i_sem here). A failed map read is -EIO (2.2 left -ENOSPC).
 */
final class Ext2BlockMap {
    private static final boolean LE = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    private final Ext2Fs fs;
    private final BufferCache buffers;
    private final PhysMem mem;
    private final int addrPerBlock;
    private final int addrPerBlockBits;
    private final long maxBlocks;
    private final AtomicLong reads = new AtomicLong();
    private final AtomicLong ios = new AtomicLong();

    Ext2BlockMap(Ext2Fs fs) {
        this.fs = fs;
        this.buffers = fs.buffers();
        this.mem = fs.mm22().mem();
        this.addrPerBlock = fs.blocksize() / 4;
        this.addrPerBlockBits = Integer.numberOfTrailingZeros(addrPerBlock);
        long a = addrPerBlock;
        this.maxBlocks = Ext2Inode.EXT2_NDIR_BLOCKS + a + a * a + a * a * a;
    }

    int addrPerBlock() {
        return addrPerBlock;
    }

    /** Logical blocks a file can have (12 + 256 + 256^2 + 256^3 for 1 KiB blocks). */
    long maxBlocks() {
        return maxBlocks;
    }

    /** Map blocks looked up in the buffer cache. */
    long reads() {
        return reads.get();
    }

    /** Of those, the ones whose buffer was not uptodate, so they were read from the device. */
    long ios() {
        return ios.get();
    }

    int getLe32(BufferHead bh, int nr) {
        int v = mem.getInt(bh.data() + 4L * nr);
        return LE ? v : Integer.reverseBytes(v);
    }

    void putLe32(BufferHead bh, int nr, long block) {
        int v = (int) block;
        mem.putInt(bh.data() + 4L * nr, LE ? v : Integer.reverseBytes(v));
    }

    /**
     * The path to logical {@code block}: offsets[0] an index into i_data, then one index per map block;
     * returns the depth (1 for a direct block).
     */
    int blockToPath(Ext2Inode ip, long block, int[] offsets) {
        if (block < 0 || block >= maxBlocks) {
            throw new IllegalArgumentException("ext2 block map of " + ip + ": block " + block
                    + " is beyond the map (0.." + (maxBlocks - 1) + ")");
        }
        long a = addrPerBlock;
        int mask = addrPerBlock - 1;
        if (block < Ext2Inode.EXT2_NDIR_BLOCKS) {
            offsets[0] = (int) block;
            return 1;
        }
        block -= Ext2Inode.EXT2_NDIR_BLOCKS;
        if (block < a) {
            offsets[0] = Ext2Inode.EXT2_IND_BLOCK;
            offsets[1] = (int) block;
            return 2;
        }
        block -= a;
        if (block < a * a) {
            offsets[0] = Ext2Inode.EXT2_DIND_BLOCK;
            offsets[1] = (int) (block >> addrPerBlockBits);
            offsets[2] = (int) block & mask;
            return 3;
        }
        block -= a * a;
        offsets[0] = Ext2Inode.EXT2_TIND_BLOCK;
        offsets[1] = (int) (block >> (addrPerBlockBits * 2));
        offsets[2] = (int) (block >> addrPerBlockBits) & mask;
        offsets[3] = (int) block & mask;
        return 4;
    }

    /** bread() of map block {@code nr}, counted (one buffer-cache lookup); null if the read failed. */
    BufferHead breadMap(long nr) {
        BufferHead bh = buffers.getblk(fs.dev(), nr, fs.blocksize());
        buffers.touchBuffer(bh);
        return readMap(bh) ? bh : null;
    }

    /** The uptodate half of bread() for map block {@code bh}, counted; false (released) if the read failed. */
    private boolean readMap(BufferHead bh) {
        reads.incrementAndGet();
        if (!bh.uptodate()) {
            ios.incrementAndGet();
        }
        return buffers.readBuffer(bh);
    }

    /** block_bmap(): entry {@code nr} of the map block (released), 0 if it could not be read. */
    private long blockBmap(BufferHead bh, int nr) {
        if (bh == null) {
            return 0;
        }
        long tmp = Integer.toUnsignedLong(getLe32(bh, nr));
        buffers.brelse(bh);
        return tmp;
    }

    /** ext2_bmap(): the physical block of logical {@code block}, 0 for a hole. */
    long bmap(Ext2Inode ip, long block) {
        int[] offsets = new int[4];
        int depth = blockToPath(ip, block, offsets);
        long i = ip.iData(offsets[0]);
        for (int d = 1; d < depth && i != 0; d++) {
            i = blockBmap(breadMap(i), offsets[d]);
        }
        return i;
    }

    /**
     * ext2_getblk(): the buffer of logical {@code block} (not read), allocating what is missing on the way
     * when {@code create}; null with err[0] set (-ENOSPC, -EIO, -EFBIG for a hole without create). i_sem held.
     */
    BufferHead getblk(Ext2Inode ip, long block, boolean create, long[] err) {
        int[] offsets = new int[4];
        int depth = blockToPath(ip, block, offsets);
        // A sequential write: every block allocated for it, map or data, aims at the same zone.
        if (block == ip.nextAllocBlock + 1) {
            ip.nextAllocBlock++;
            ip.nextAllocGoal++;
        }
        err[0] = -Errno.ENOSPC;
        BufferHead bh = inodeGetblk(ip, offsets[0], create, block, depth > 1, err);
        for (int d = 1; d < depth; d++) {
            bh = blockGetblk(ip, bh, offsets[d], create, block, d < depth - 1, err);
        }
        return bh;
    }

    /** inode_getblk(): the buffer of i_data[nr], allocating it if a hole and {@code create}. */
    private BufferHead inodeGetblk(Ext2Inode ip, int nr, boolean create, long newBlock, boolean meta,
            long[] err) {
        long tmp = ip.iData(nr);
        if (tmp != 0) {
            return buffers.getblk(fs.dev(), tmp, fs.blocksize());
        }
        if (!create) {
            err[0] = -Errno.EFBIG;
            return null;
        }
        long goal = ip.nextAllocBlock == newBlock ? ip.nextAllocGoal : 0;
        if (goal == 0) {
            for (int t = nr - 1; t >= 0 && goal == 0; t--) {
                goal = ip.iData(t);
            }
            if (goal == 0) {
                goal = (long) ip.group * fs.blocksPerGroup() + Ext2Fs.FIRST_DATA_BLOCK;
            }
        }
        long nb = fs.balloc().newBlock(ip, goal);
        if (nb < 0) {
            err[0] = nb;
            return null;
        }
        BufferHead result = buffers.getblk(fs.dev(), nb, fs.blocksize());
        ip.setIData(nr, nb);
        allocated(ip, newBlock, nb, meta);
        return result;
    }

    /**
     * block_getblk(): the buffer of entry {@code nr} of map block {@code bh} (read first if not uptodate),
     * allocating it if a hole and {@code create}; {@code bh} is released.
     */
    private BufferHead blockGetblk(Ext2Inode ip, BufferHead bh, int nr, boolean create, long newBlock,
            boolean meta, long[] err) {
        if (bh == null) {
            return null;
        }
        if (!readMap(bh)) {
            err[0] = -Errno.EIO;
            return null;
        }
        long tmp = Integer.toUnsignedLong(getLe32(bh, nr));
        if (tmp != 0) {
            BufferHead result = buffers.getblk(fs.dev(), tmp, fs.blocksize());
            buffers.brelse(bh);
            return result;
        }
        if (!create) {
            buffers.brelse(bh);
            err[0] = -Errno.EFBIG;
            return null;
        }
        long goal = ip.nextAllocBlock == newBlock ? ip.nextAllocGoal : 0;
        if (goal == 0) {
            for (int t = nr - 1; t >= 0 && goal == 0; t--) {
                goal = Integer.toUnsignedLong(getLe32(bh, t));
            }
            if (goal == 0) {
                goal = bh.blocknr();
            }
        }
        long nb = fs.balloc().newBlock(ip, goal);
        if (nb < 0) {
            buffers.brelse(bh);
            err[0] = nb;
            return null;
        }
        BufferHead result = buffers.getblk(fs.dev(), nb, fs.blocksize());
        putLe32(bh, nr, nb);
        buffers.markBufferDirty(bh, true);
        allocated(ip, newBlock, nb, meta);
        buffers.brelse(bh);
        return result;
    }

    private void allocated(Ext2Inode ip, long newBlock, long nb, boolean meta) {
        ip.nextAllocBlock = newBlock;
        ip.nextAllocGoal = nb;
        ip.iBlocks += fs.blocksize() / 512;
        if (meta) {
            ip.mapBlocks++;
        }
    }
}
