package dev.reclaimlab.fs.ext2;

import dev.reclaimlab.fs.buffer.BufferHead;
import dev.reclaimlab.mm.PhysMem;

/**
 * ext2's little-endian bit operations on a bitmap buffer (ext2_set_bit(), ext2_clear_bit(),
 * ext2_test_bit(), ext2_find_next_zero_bit() of Linux 2.2's asm/bitops.h).
 */
final class Ext2Bitops {
    private Ext2Bitops() {
    }

    static boolean testBit(PhysMem mem, BufferHead bh, int bit) {
        return (mem.getByte(bh.data() + (bit >> 3)) & (1 << (bit & 7))) != 0;
    }

    /** ext2_set_bit(): true if it was set already. */
    static boolean setBit(PhysMem mem, BufferHead bh, int bit) {
        long a = bh.data() + (bit >> 3);
        byte b = mem.getByte(a);
        mem.putByte(a, (byte) (b | (1 << (bit & 7))));
        return (b & (1 << (bit & 7))) != 0;
    }

    /** ext2_clear_bit(): true if it was set. */
    static boolean clearBit(PhysMem mem, BufferHead bh, int bit) {
        long a = bh.data() + (bit >> 3);
        byte b = mem.getByte(a);
        mem.putByte(a, (byte) (b & ~(1 << (bit & 7))));
        return (b & (1 << (bit & 7))) != 0;
    }

    /** The first clear bit at or after {@code from}, or {@code size}. */
    static int findNextZeroBit(PhysMem mem, BufferHead bh, int size, int from) {
        for (int j = from; j < size; j++) {
            if (!testBit(mem, bh, j)) {
                return j;
            }
        }
        return size;
    }
}
