package dev.reclaimlab.fs.ext2;

import dev.reclaimlab.fs.buffer.BufferCache;
import dev.reclaimlab.fs.buffer.BufferHead;
import dev.reclaimlab.kernel.Errno;

import java.util.function.IntToLongFunction;

/**
 * The per-superblock LRU of EXT2_MAX_GROUP_LOADED (8) loaded bitmaps that Linux 2.2's ext2 keeps twice:
 * load_block_bitmap()/read_block_bitmap() (fs/ext2/balloc.c) and load_inode_bitmap()/read_inode_bitmap()
 * (fs/ext2/ialloc.c). Each loaded bitmap holds its buffer; a group not in the list is read with bread()
 * while the caller holds lock_super, the last slot's buffer is released; a failed read leaves a null slot
 * ("The IO will be retried next time") and makes the load fail with -EIO. 2.2 skipped the LRU when a
 * filesystem had 8 groups or fewer; this one always keeps it (same reads, a different slot order).
 * Caller holds lock_super.
 */
final class Ext2BitmapLru {
    static final int EXT2_MAX_GROUP_LOADED = 8;

    private final Ext2Fs fs;
    private final BufferCache buffers;
    private final String what;
    private final IntToLongFunction blockOf;
    private final int[] number = new int[EXT2_MAX_GROUP_LOADED];
    private final BufferHead[] bitmap = new BufferHead[EXT2_MAX_GROUP_LOADED];
    private int loaded;
    private long reads;
    private long ios;

    /** {@code what} is "block" or "inode"; {@code blockOf} gives a group's bitmap block. */
    Ext2BitmapLru(Ext2Fs fs, String what, IntToLongFunction blockOf) {
        this.fs = fs;
        this.buffers = fs.buffers();
        this.what = what;
        this.blockOf = blockOf;
    }

    /** Bitmaps read because they were not in the list (LRU misses). */
    long reads() {
        return reads;
    }

    /** Misses whose bread() found no uptodate buffer and read the device, lock_super held. */
    long ios() {
        return ios;
    }

    /** The buffer in {@code slot}, as load() returned it. */
    BufferHead bh(int slot) {
        return bitmap[slot];
    }

    private int read(int group, int slot) {
        reads++;
        long nr = blockOf.applyAsLong(group);
        BufferHead cached = buffers.getHashTable(fs.dev(), nr, fs.blocksize());
        if (cached == null || !cached.uptodate()) {
            ios++;
        }
        buffers.brelse(cached);
        BufferHead bh = buffers.bread(fs.dev(), nr, fs.blocksize());
        number[slot] = group;
        bitmap[slot] = bh;
        if (bh == null) {
            fs.ext2Error("read_" + what + "_bitmap", "Cannot read " + what + " bitmap - block_group = " + group);
            return -Errno.EIO;
        }
        return 0;
    }

    /** load_*_bitmap(): the slot holding {@code group}'s bitmap (always 0 here), or -EIO. */
    int load(int group) {
        if (loaded > 0 && number[0] == group && bitmap[0] != null) {
            return 0;
        }
        int i = 0;
        while (i < loaded && number[i] != group) {
            i++;
        }
        int retval = 0;
        if (i < loaded) {
            BufferHead bh = bitmap[i];
            for (int j = i; j > 0; j--) {
                number[j] = number[j - 1];
                bitmap[j] = bitmap[j - 1];
            }
            number[0] = group;
            bitmap[0] = bh;
            // Our last attempt to read it failed: try again.
            if (bh == null) {
                retval = read(group, 0);
            }
        } else {
            if (loaded < EXT2_MAX_GROUP_LOADED) {
                loaded++;
            } else {
                buffers.brelse(bitmap[EXT2_MAX_GROUP_LOADED - 1]);
            }
            for (int j = loaded - 1; j > 0; j--) {
                number[j] = number[j - 1];
                bitmap[j] = bitmap[j - 1];
            }
            retval = read(group, 0);
        }
        if (retval < 0) {
            return retval;
        }
        return bitmap[0] == null ? -Errno.EIO : 0;
    }
}
