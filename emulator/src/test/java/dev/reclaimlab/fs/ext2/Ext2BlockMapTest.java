package dev.reclaimlab.fs.ext2;

import dev.reclaimlab.block.RamDisk;
import dev.reclaimlab.block.request.IdeDisk;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.swap.Mm22;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A file's block map on the device, as fs/ext2/inode.c and truncate.c of Linux 2.2 keep it: twelve direct
 * blocks in the inode, then indirect, double- and triple-indirect blocks of little-endian block numbers,
 * read with bread(), allocated with ext2_new_block() on a write into a hole and freed by ext2_truncate().
 */
@Timeout(60)
@ExtendWith(KernelExtension.class)
class Ext2BlockMapTest {
    private static final int BS = 1024;
    private static final int APB = BS / 4;
    // First logical blocks behind the indirect, double- and triple-indirect block.
    private static final long IND = Ext2Inode.EXT2_NDIR_BLOCKS;
    private static final long DIND = IND + APB;
    private static final long TIND = DIND + (long) APB * APB;

    private record Disk(Ext2Fs fs, IdeDisk dev, RamDisk medium) {
    }

    private static Disk mkfs(Kernels kernels) {
        Kernel k = kernels.boot(b -> b.version(KernelVersion.V2_2).memory("32m"));
        Mm22 mm = Mm22.boot(k);
        RamDisk medium = new RamDisk(k, 1, 5L * 8 << 20);
        IdeDisk dev = new IdeDisk(mm.blk(), "hda1", medium, BS);
        return new Disk(Ext2Fs.mkfs(mm, dev), dev, medium);
    }

    private static byte[] data(int n, long seed) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    /** Writes back everything, then drops the file's pages and every idle buffer of the disk. */
    private static void syncAndDrop(Disk d, Ext2File f) {
        assertThat(d.fs().mm22().buffers().syncBuffers(d.dev())).isZero();
        for (int pass = 0; pass < 100; pass++) {
            int freed = d.fs().mm22().pageCache().invalidateInodePages(f.mapping())
                    + d.fs().mm22().buffers().dropBuffers(d.dev());
            if (freed == 0) {
                break;
            }
        }
        assertThat(f.mapping().nrpages()).isZero();
    }

    /**
     * Every one of {@code blocks} out of the buffer cache or no longer uptodate, so the next bread() of each
     * reads the device: a buffer page another buffer of which a kernel thread still held when the test dropped
     * the cache is dropped again, or its idle buffers forget their data (invalidate_buffers()).
     */
    private static void forgotten(Disk d, long... blocks) {
        var bc = d.fs().mm22().buffers();
        Await.until(() -> {
            bc.dropBuffers(d.dev());
            bc.invalidateBuffers(d.dev());
            for (long b : blocks) {
                var bh = bc.getHashTable(d.dev(), b, BS);
                if (bh != null) {
                    boolean stale = !bh.uptodate();
                    bc.brelse(bh);
                    if (!stale) {
                        return false;
                    }
                }
            }
            return true;
        }, "the map blocks to leave the buffer cache", Duration.ofSeconds(10));
    }

    /** Entry {@code nr} of map block {@code block}, read from the medium, not through the kernel. */
    private static long onDisk(Disk d, long block, int nr) {
        byte[] b = new byte[4];
        d.medium().peek(block * BS + 4L * nr, b, 0, 4);
        return Integer.toUnsignedLong(ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt());
    }

    private static long[] map(Ext2Inode ip, long blocks) {
        long[] m = new long[(int) blocks];
        for (int i = 0; i < m.length; i++) {
            m[i] = ip.bmap(i);
        }
        return m;
    }

    @Test
    void aFileCrossingIntoDoubleIndirectBlocksRoundTripsAfterACacheDropWithItsMapReadFromTheDevice(Kernels kernels) {
        Disk d = mkfs(kernels);
        Ext2Fs fs = d.fs();
        Ext2File f = fs.create(null, "big");
        long blocks = DIND + 300;
        byte[] content = data((int) blocks * BS - 100, 1);
        assertThat(f.write(content, 0, content.length, 0)).isEqualTo(content.length);
        Ext2Inode ip = f.inode();
        // The indirect block, the double-indirect block and two indirect blocks under it.
        assertThat(ip.nrMapBlocks()).isEqualTo(4);
        assertThat(ip.nrBlocks()).isEqualTo((int) blocks);
        assertThat(ip.iBlocks()).isEqualTo((blocks + 4) * (BS / 512));
        long[] before = map(ip, blocks);
        assertThat(before).doesNotContain(0L);
        syncAndDrop(d, f);

        // The map on the medium: i_data[12]'s entries are the blocks behind it, little-endian.
        long ind = ip.iData(Ext2Inode.EXT2_IND_BLOCK);
        for (int i = 0; i < APB; i++) {
            assertThat(onDisk(d, ind, i)).as("indirect entry %d", i).isEqualTo(before[(int) IND + i]);
        }
        long dind1 = onDisk(d, ip.iData(Ext2Inode.EXT2_DIND_BLOCK), 1);
        assertThat(onDisk(d, dind1, 299 - APB)).isEqualTo(before[(int) blocks - 1]);

        forgotten(d, ind, ip.iData(Ext2Inode.EXT2_DIND_BLOCK), onDisk(d, ip.iData(Ext2Inode.EXT2_DIND_BLOCK), 0),
                dind1);
        long reads = fs.mapReads();
        long ios = fs.mapIos();
        byte[] got = new byte[content.length];
        assertThat(f.read(got, 0, got.length, 0)).isEqualTo(got.length);
        assertThat(got).isEqualTo(content);
        // ext2_bmap() read the indirect block, the double-indirect block and both indirect blocks under it.
        assertThat(fs.mapIos() - ios).as("map blocks read from the device").isEqualTo(4);
        assertThat(fs.mapReads() - reads).as("map lookups").isGreaterThanOrEqualTo(APB + 2L * 300);

        syncAndDrop(d, f);
        assertThat(map(ip, blocks)).as("the map rebuilt from the device").isEqualTo(before);
        assertThat(fs.errors()).isZero();
        f.close();
    }

    @Test
    void aWriteIntoAHoleBehindADroppedDoubleIndirectBlockReadsTheMapFromTheDeviceFirst(Kernels kernels) {
        Disk d = mkfs(kernels);
        Ext2Fs fs = d.fs();
        Ext2File f = fs.create(null, "sparse");
        byte[] a = data(4096, 2);
        assertThat(f.write(a, 0, a.length, DIND * BS)).isEqualTo(a.length);
        syncAndDrop(d, f);
        long ios = fs.mapIos();
        long free = fs.freeBlocksCount();
        byte[] b = data(4096, 3);
        assertThat(f.write(b, 0, b.length, (DIND + 8) * BS)).isEqualTo(b.length);
        // ext2_getblk(): block_getblk() read the double-indirect and the indirect block before it allocated.
        assertThat(fs.mapIos() - ios).isEqualTo(2);
        assertThat(free - fs.freeBlocksCount()).as("four data blocks, no new map block").isEqualTo(4);
        syncAndDrop(d, f);
        byte[] got = new byte[4096];
        assertThat(f.read(got, 0, got.length, DIND * BS)).isEqualTo(got.length);
        assertThat(got).isEqualTo(a);
        assertThat(f.read(got, 0, got.length, (DIND + 8) * BS)).isEqualTo(got.length);
        assertThat(got).isEqualTo(b);
        assertThat(f.read(got, 0, got.length, (DIND + 4) * BS)).isEqualTo(got.length);
        assertThat(got).as("the hole between").containsOnly((byte) 0);
        f.close();
    }

    @Test
    void aBlockBehindTheTripleIndirectBlockRoundTrips(Kernels kernels) {
        Disk d = mkfs(kernels);
        Ext2File f = d.fs().create(null, "far");
        byte[] a = data(BS, 4);
        assertThat(f.write(a, 0, a.length, (TIND + 7) * BS)).isEqualTo(a.length);
        assertThat(f.inode().nrMapBlocks()).as("triple-, double- and single-indirect").isEqualTo(3);
        syncAndDrop(d, f);
        long ios = d.fs().mapIos();
        byte[] got = new byte[BS];
        assertThat(f.read(got, 0, got.length, (TIND + 7) * BS)).isEqualTo(got.length);
        assertThat(got).isEqualTo(a);
        assertThat(d.fs().mapIos() - ios).isEqualTo(3);
        f.close();
    }

    @Test
    void truncateFreesEveryMapBlockAndAPartialTruncateKeepsTheMapOfWhatIsLeft(Kernels kernels) {
        Disk d = mkfs(kernels);
        Ext2Fs fs = d.fs();
        long free = fs.freeBlocksCount();
        Ext2File f = fs.create(null, "t");
        byte[] content = data((int) (DIND + 600) * BS, 5);
        assertThat(f.write(content, 0, content.length, 0)).isEqualTo(content.length);
        byte[] far = data(BS, 6);
        assertThat(f.write(far, 0, far.length, (TIND + 3) * BS)).isEqualTo(far.length);
        Ext2Inode ip = f.inode();
        // ind, dind with three indirect blocks, tind with a dind and an ind.
        assertThat(ip.nrMapBlocks()).isEqualTo(1 + 1 + 3 + 3);
        assertThat(free - fs.freeBlocksCount()).isEqualTo(DIND + 600 + 1 + 8);
        syncAndDrop(d, f);

        // Down to 100 blocks and a half: the indirect block stays, everything behind it goes.
        long size = 100L * BS + 512;
        assertThat(f.ftruncate(size)).isZero();
        assertThat(ip.nrMapBlocks()).isEqualTo(1);
        assertThat(ip.iData(Ext2Inode.EXT2_DIND_BLOCK)).isZero();
        assertThat(ip.iData(Ext2Inode.EXT2_TIND_BLOCK)).isZero();
        assertThat(free - fs.freeBlocksCount()).isEqualTo(101 + 1);
        assertThat(ip.iBlocks()).isEqualTo(102L * (BS / 512));
        syncAndDrop(d, f);
        assertThat(onDisk(d, ip.iData(Ext2Inode.EXT2_IND_BLOCK), (int) (100 - IND))).isNotZero();
        assertThat(onDisk(d, ip.iData(Ext2Inode.EXT2_IND_BLOCK), (int) (101 - IND))).isZero();
        // The tail of the last block was zeroed, so growing the file again shows zeros there.
        byte[] got = new byte[BS];
        assertThat(f.ftruncate(101L * BS)).isZero();
        assertThat(f.read(got, 0, BS, 100L * BS)).isEqualTo(BS);
        byte[] want = new byte[BS];
        System.arraycopy(content, 100 * BS, want, 0, 512);
        assertThat(got).isEqualTo(want);

        assertThat(f.ftruncate(0)).isZero();
        assertThat(ip.iBlocks()).isZero();
        assertThat(ip.nrMapBlocks()).isZero();
        for (int i = 0; i < Ext2Inode.EXT2_N_BLOCKS; i++) {
            assertThat(ip.iData(i)).as("i_data[%d]", i).isZero();
        }
        assertThat(fs.freeBlocksCount()).as("every data and map block free again").isEqualTo(free);
        assertThat(fs.errors()).isZero();
        f.close();
    }

    @Test
    void unlinkingTheLastReferenceFreesTheMapBlocksToo(Kernels kernels) {
        Disk d = mkfs(kernels);
        Ext2Fs fs = d.fs();
        long free = fs.freeBlocksCount();
        Ext2File f = fs.create(null, "gone");
        byte[] content = data((int) (DIND + 10) * BS, 7);
        assertThat(f.write(content, 0, content.length, 0)).isEqualTo(content.length);
        assertThat(f.inode().nrMapBlocks()).isEqualTo(3);
        syncAndDrop(d, f);
        fs.unlink(null, "gone");
        f.close();
        assertThat(fs.freeBlocksCount()).isEqualTo(free);
        assertThat(fs.errors()).isZero();
    }

    @Test
    void aBlockBeyondTheMapIsRefusedNamingTheInodeAndTheLimit(Kernels kernels) {
        Disk d = mkfs(kernels);
        Ext2File f = d.fs().create(null, "limit");
        long max = TIND + (long) APB * APB * APB;
        assertThatThrownBy(() -> f.inode().bmap(max))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(f.inode().toString())
                .hasMessageContaining("block " + max + " is beyond the map (0.." + (max - 1) + ")");
        assertThatThrownBy(() -> f.inode().bmap(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("block -1 is beyond the map");
        byte[] a = new byte[16];
        assertThat(f.write(a, 0, a.length, max * BS)).as("2.2's __u32 position cannot reach the map's end")
                .isEqualTo(-Errno.EINVAL);
        assertThat(f.inode().iSem.owner()).as("i_sem released").isNull();
        f.close();
    }
}
