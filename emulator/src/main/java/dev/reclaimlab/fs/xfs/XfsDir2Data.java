package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.mm.PhysMem;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Directory data blocks (fs/xfs/libxfs/xfs_dir2_data.c, xfs_dir2_block.c in outline, Linux 4.3 and 5.3):
 * a directory's entries in name order, packed into 4 KiB blocks behind a small header, each entry its
 * inode number, name length and name. The entries themselves live in the dinode (the emulator keeps
 * metadata in memory); a block is laid out from them when it is read into an {@link XfsBuf} or logged,
 * under the directory's ILOCK, and readdir and lookup read the names back from the buffer's memory.
 */
final class XfsDir2Data {
    /** XFS_DIR3_DATA_MAGIC, "XDD3". */
    static final int XFS_DIR3_DATA_MAGIC = 0x58444433;
    private static final int HDR = 16;
    private static final int CAPACITY = XfsBuf.XFS_BUF_BYTES - HDR;

    private XfsDir2Data() {
    }

    /** The buffer-cache key of block {@code dablk} of directory {@code ino}. */
    static long key(long ino, int dablk) {
        return (ino << 16) | dablk;
    }

    /** The directory that block {@code key} belongs to. */
    static long ino(long key) {
        return key >>> 16;
    }

    static int dablk(long key) {
        return (int) (key & 0xffff);
    }

    private static int entrySize(String name) {
        return 8 + 1 + name.getBytes(StandardCharsets.UTF_8).length;
    }

    /** Blocks the directory's data needs: at least one (an empty block-form directory). */
    static int nblocks(Map<String, Long> entries) {
        int blocks = 1;
        int used = 0;
        for (String name : entries.keySet()) {
            int n = entrySize(name);
            if (used + n > CAPACITY) {
                blocks++;
                used = 0;
            }
            used += n;
        }
        return blocks;
    }

    /** Writes block {@code dablk} of {@code entries} at {@code addr} (a whole page). */
    static void fill(PhysMem mem, long addr, Map<String, Long> entries, int dablk) {
        int block = 0;
        int used = 0;
        int count = 0;
        long p = addr + HDR;
        for (Map.Entry<String, Long> e : entries.entrySet()) {
            byte[] name = e.getKey().getBytes(StandardCharsets.UTF_8);
            int n = 8 + 1 + name.length;
            if (used + n > CAPACITY) {
                if (block == dablk) {
                    break;
                }
                block++;
                used = 0;
            }
            used += n;
            if (block != dablk) {
                continue;
            }
            mem.putLong(p, e.getValue());
            mem.putByte(p + 8, (byte) name.length);
            mem.copyIn(p + 9, name, 0, name.length);
            p += n;
            count++;
        }
        mem.putInt(addr, XFS_DIR3_DATA_MAGIC);
        mem.putInt(addr + 4, dablk);
        mem.putInt(addr + 8, count);
    }

    /**
     * The entries of the block at {@code addr}, name and inode number, in order (xfs_dir2_data_getdents()'s
     * walk): what readdir and getdents emit.
     */
    static List<Map.Entry<String, Long>> entries(PhysMem mem, long addr) {
        int count = check(mem, addr);
        List<Map.Entry<String, Long>> out = new ArrayList<>(count);
        long p = addr + HDR;
        for (int i = 0; i < count; i++) {
            int len = mem.getByte(p + 8) & 0xff;
            byte[] b = new byte[len];
            mem.copyOut(p + 9, b, 0, len);
            out.add(Map.entry(new String(b, StandardCharsets.UTF_8), mem.getLong(p)));
            p += 9 + len;
        }
        return out;
    }

    /** The inode number of {@code name} in the block at {@code addr}, or -1. */
    static long lookup(PhysMem mem, long addr, String name) {
        byte[] want = name.getBytes(StandardCharsets.UTF_8);
        int count = check(mem, addr);
        long p = addr + HDR;
        for (int i = 0; i < count; i++) {
            int len = mem.getByte(p + 8) & 0xff;
            if (len == want.length) {
                byte[] b = new byte[len];
                mem.copyOut(p + 9, b, 0, len);
                if (java.util.Arrays.equals(b, want)) {
                    return mem.getLong(p);
                }
            }
            p += 9 + len;
        }
        return -1;
    }

    private static int check(PhysMem mem, long addr) {
        int magic = mem.getInt(addr);
        if (magic != XFS_DIR3_DATA_MAGIC) {
            throw new IllegalStateException("xfs_dir3_data_read_verify: bad magic 0x" + Integer.toHexString(magic)
                    + " in directory block at 0x" + Long.toHexString(addr));
        }
        return mem.getInt(addr + 8);
    }
}
