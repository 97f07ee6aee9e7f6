package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.MemBlockDevice;
import dev.reclaimlab.fs.SuperBlock;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.fs.VfsException;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.ShrinkControl;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.Random;
import java.util.zip.CRC32;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "32m")
class XfsDataTest {
    static byte[] random(long seed, int n) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static long crc(byte[] b) {
        CRC32 c = new CRC32();
        c.update(b);
        return c.getValue();
    }

    /** Drops every unused dentry and inode and reclaims the in-core inodes, as memory pressure would. */
    static long dropCaches(SuperBlock sb) {
        ShrinkControl sc = new ShrinkControl(Gfp.GFP_KERNEL);
        sc.nrToScan = Long.MAX_VALUE / 4;
        long freed = 0;
        for (int i = 0; i < 4; i++) {
            freed += sb.shrinker().scanObjects(sc);
        }
        return freed;
    }

    @Test
    void dataWrittenAndReadBackByteExactThroughThePageCacheAndFromTheDevice(Kernel k) {
        MemBlockDevice dev = new MemBlockDevice(k, "ram0", 16 << 20);
        Xfs xfs = Xfs.mount(k, dev);
        Vfs vfs = xfs.vfs();
        byte[] data = random(1, 300_000);
        File f = vfs.create("/", "image");
        assertThat(vfs.write(f, 0, data)).isEqualTo(data.length);
        byte[] patch = random(2, 5_000);
        vfs.write(f, 12_345, patch);
        System.arraycopy(patch, 0, data, 12_345, patch.length);
        assertThat(f.inode().iSize()).isEqualTo(data.length);
        assertThat(crc(vfs.read(f, 0, data.length))).isEqualTo(crc(data));
        vfs.fsync(f);
        long ino = f.inode().ino();
        vfs.close(f);

        dropCaches(xfs.sb());
        assertThat(xfs.peekInode(ino)).as("in-core inode reclaimed").isNull();
        long readsBefore = dev.reads.get();
        long pagesBefore = dev.pagesRead.get();
        File g = vfs.open("/image");
        assertThat(g.inode().mapping().nrpages()).isZero();
        byte[] back = vfs.read(g, 0, data.length + 100);
        assertThat(back).hasSize(data.length);
        assertThat(crc(back)).isEqualTo(crc(data));
        assertThat(back).isEqualTo(data);
        assertThat(dev.pagesRead.get() - pagesBefore).as("pages read from the device").isGreaterThanOrEqualTo(74);
        // 4.3's readahead: a first window of 64 pages (the 32 asked for and the next 32 merged, as readit:
        // does when the read would hit its own marker), then the async window from page 32 to EOF; each
        // window is one bio over the file's contiguous blocks.
        assertThat(dev.reads.get() - readsBefore).as("read bios").isEqualTo(2);
        vfs.close(g);
        xfs.umount();
        assertThat(k.oopses()).isEmpty();
    }

    @Test
    void partialOverwriteOfOnDiskDataReadsTheRestOfTheBlockFirst(Kernel k) {
        MemBlockDevice dev = new MemBlockDevice(k, "ram0", 8 << 20);
        Xfs xfs = Xfs.mount(k, dev);
        Vfs vfs = xfs.vfs();
        byte[] data = random(3, 3 * 4096);
        File f = vfs.create("/", "f");
        vfs.write(f, 0, data);
        vfs.fsync(f);
        vfs.close(f);
        dropCaches(xfs.sb());
        File g = vfs.open("/f");
        byte[] patch = random(4, 100);
        vfs.write(g, 4096 + 10, patch);
        System.arraycopy(patch, 0, data, 4096 + 10, patch.length);
        vfs.fsync(g);
        vfs.close(g);
        dropCaches(xfs.sb());
        File h = vfs.open("/f");
        assertThat(vfs.read(h, 0, data.length)).isEqualTo(data);
        vfs.close(h);
        xfs.umount();
    }

    @Test
    void holesReadAsZerosAndTheFileEndsAtItsSize(Kernel k) {
        MemBlockDevice dev = new MemBlockDevice(k, "ram0", 8 << 20);
        Xfs xfs = Xfs.mount(k, dev);
        Vfs vfs = xfs.vfs();
        File f = vfs.create("/", "sparse");
        byte[] tail = random(5, 1000);
        vfs.write(f, 40_000, tail);
        assertThat(f.inode().iSize()).isEqualTo(41_000);
        vfs.fsync(f);
        vfs.close(f);
        dropCaches(xfs.sb());
        File g = vfs.open("/sparse");
        assertThat(vfs.read(g, 0, 40_000)).containsOnly((byte) 0);
        assertThat(vfs.read(g, 40_000, 5000)).isEqualTo(tail);
        assertThat(vfs.read(g, 41_000, 10)).isEmpty();
        vfs.close(g);
        assertThat(xfs.dblocks() - xfs.freeBlocks()).as("only the two written blocks are allocated").isEqualTo(2);
        xfs.umount();
    }

    @Test
    void aReadErrorOnTheDeviceReturnsEioWithoutHanging(Kernel k) {
        MemBlockDevice dev = new MemBlockDevice(k, "ram0", 8 << 20);
        Xfs xfs = Xfs.mount(k, dev);
        Vfs vfs = xfs.vfs();
        byte[] data = random(6, 8192);
        File f = vfs.create("/", "f");
        vfs.write(f, 0, data);
        vfs.fsync(f);
        vfs.close(f);
        dropCaches(xfs.sb());
        File g = vfs.open("/f");
        dev.failReads(s -> s >= xfs.dataStartSector());
        assertThatThrownBy(() -> vfs.read(g, 0, 100)).isInstanceOf(VfsException.class)
                .satisfies(e -> assertThat(((VfsException) e).errno()).isEqualTo(Errno.EIO));
        dev.failReads(s -> false);
        assertThat(vfs.read(g, 0, data.length)).isEqualTo(data);
        vfs.close(g);
        xfs.umount();
    }

    @Test
    void aWriteErrorOnTheDeviceIsReportedByFsyncOnce(Kernel k) {
        MemBlockDevice dev = new MemBlockDevice(k, "ram0", 8 << 20);
        Xfs xfs = Xfs.mount(k, dev);
        Vfs vfs = xfs.vfs();
        File f = vfs.create("/", "f");
        dev.failWrites(s -> s >= xfs.dataStartSector());
        vfs.write(f, 0, random(7, 4096));
        assertThatThrownBy(() -> vfs.fsync(f)).isInstanceOf(VfsException.class).hasMessageContaining("EIO");
        dev.failWrites(s -> false);
        vfs.fsync(f);
        vfs.close(f);
        xfs.umount();
    }

    @Test
    void writeLandsOnTheMediumAtTheAllocatedBlock(Kernel k) {
        MemBlockDevice dev = new MemBlockDevice(k, "ram0", 8 << 20);
        Xfs xfs = Xfs.mount(k, dev);
        Vfs vfs = xfs.vfs();
        File f = vfs.create("/", "f");
        byte[] data = random(8, 4096);
        vfs.write(f, 0, data);
        vfs.fsync(f);
        long block = ((XfsInode) f.inode()).dinode().bmapRead(0);
        assertThat(block).isNotEqualTo(XfsDinode.HOLE);
        assertThat(dev.readMedium(xfs.dataStartSector() * 512 + block * 4096, 4096)).isEqualTo(data);
        assertThat(dev.readMedium(0, 4)).containsExactly(0x42, 0x53, 0x46, 0x58);
        vfs.close(f);
        xfs.umount();
    }

    @Test
    void aFileLargerThanMemoryIsWrittenAndReadBackUnderMemoryPressure(Kernel k) {
        MemBlockDevice dev = new MemBlockDevice(k, "ram0", 64 << 20);
        Xfs xfs = Xfs.mount(k, dev);
        Vfs vfs = xfs.vfs();
        File f = vfs.create("/", "big");
        int chunk = 64 << 10;
        int chunks = 48 << 20 >> 16;
        for (int i = 0; i < chunks; i++) {
            assertThat(vfs.write(f, (long) i * chunk, random(100 + i, chunk))).isEqualTo(chunk);
        }
        for (int i = 0; i < chunks; i++) {
            byte[] got = vfs.read(f, (long) i * chunk, chunk);
            assertThat(crc(got)).as("chunk %d", i).isEqualTo(crc(random(100 + i, chunk)));
        }
        assertThat(dev.reads.get()).as("evicted pages came back from the device").isPositive();
        vfs.close(f);
        xfs.umount();
        assertThat(k.oopses()).isEmpty();
        assertThat(k.dmesg()).doesNotContain("WARNING");
    }
}
