package dev.reclaimlab.fs.ext2;

import dev.reclaimlab.block.RamDisk;
import dev.reclaimlab.block.request.IdeDisk;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.swap.Mm22;
import dev.reclaimlab.swap.Process22;
import dev.reclaimlab.swap.Vma;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Bad input to 2.2's ext2 file calls: refused up front, or 2.2's errno, as the fuzz found it was not. */
@Timeout(60)
@ExtendWith(KernelExtension.class)
class Ext2FileCheckTest {
    private static Ext2Fs fs(Kernels kernels) {
        Kernel k = kernels.boot(b -> b.version(KernelVersion.V2_2).memory("16m"));
        Mm22 mm = Mm22.boot(k);
        return Ext2Fs.mkfs(mm, new IdeDisk(mm.blk(), "hda1", new RamDisk(k, 1, 8L << 20), 1024));
    }

    @Test
    void readAndWriteThroughAnUnmappedUserBufferReturnEfault(Kernels kernels) {
        Ext2Fs fs = fs(kernels);
        Process22 p = Process22.attach(fs.mm22(), fs.mm22().kernel().currentTask());
        Ext2File f = fs.create(null, "f");
        assertThat(f.write(new byte[8192], 0, 8192, 0)).isEqualTo(8192);
        long free = fs.freeBlocksCount();
        assertThat(f.writeUser(p, 0x1000, 100, 8192)).isEqualTo(-Errno.EFAULT);
        assertThat(fs.freeBlocksCount()).as("the block allocated for it stays with the file, as in 2.2")
                .isLessThanOrEqualTo(free);
        assertThat(f.iSize()).as("nothing written, no size change").isEqualTo(8192);
        assertThat(f.readToUser(p, 0x1000, 100, 0)).isEqualTo(-Errno.EFAULT);
        Vma v = fs.mm22().memory().mmap(p, PhysMem.PAGE_SIZE, null, 0, false);
        assertThat(f.readToUser(p, v.end() - 10, 100, 0)).as("a short read up to the hole").isEqualTo(10);
        p.exit();
        f.close();
    }

    @Test
    void aWritePastTheThirtyTwoBitPositionIsEinvalAndOneCarriedPastItIsCutShort(Kernels kernels) {
        Ext2Fs fs = fs(kernels);
        Ext2File f = fs.create(null, "f");
        long free = fs.freeBlocksCount();
        assertThat(f.write(new byte[16], 0, 16, 1L << 32)).as("pos != *ppos: the __u32 position cannot hold it")
                .isEqualTo(-Errno.EINVAL);
        assertThat(f.write(new byte[16], 0, 16, Long.MAX_VALUE - 8)).isEqualTo(-Errno.EINVAL);
        assertThat(f.iSize()).isZero();
        assertThat(fs.freeBlocksCount()).as("nothing allocated").isEqualTo(free);
        long last = Ext2File.U32_MAX - 10;
        byte[] data = new byte[64];
        Arrays.fill(data, (byte) 0x5a);
        assertThat(f.write(data, 0, 64, last)).as("cut to ~pos, 0xFFFFFFFF - pos").isEqualTo(10);
        assertThat(f.iSize()).isEqualTo(Ext2File.U32_MAX);
        assertThat(f.write(data, 0, 64, Ext2File.U32_MAX)).as("nothing left of it").isEqualTo(-Errno.EFBIG);
        byte[] back = new byte[10];
        assertThat(f.read(back, 0, 10, last)).isEqualTo(10);
        assertThat(back).containsOnly((byte) 0x5a);
        f.close();
    }

    @Test
    void aReleasedFileRefusesReadWriteAndFtruncate(Kernels kernels) {
        Ext2Fs fs = fs(kernels);
        Ext2File f = fs.create(null, "f");
        fs.unlink(null, "f");
        f.close();
        assertThatThrownBy(() -> f.read(new byte[16], 0, 16, 0)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("read of released");
        assertThatThrownBy(() -> f.write(new byte[16], 0, 16, 0)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("write of released");
        assertThatThrownBy(() -> f.ftruncate(0)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("ftruncate of released");
    }

    @Test
    void writeUserAndWriteKernelRefuseNegativeLengthsAndPositions(Kernels kernels) {
        Ext2Fs fs = fs(kernels);
        Process22 p = Process22.attach(fs.mm22(), fs.mm22().kernel().currentTask());
        Ext2File f = fs.create(null, "f");
        Vma v = fs.mm22().memory().mmap(p, PhysMem.PAGE_SIZE, null, 0, false);
        assertThatThrownBy(() -> f.writeUser(p, v.start(), -5, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("negative length");
        assertThatThrownBy(() -> f.readToUser(p, v.start(), 16, -1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("position");
        assertThatThrownBy(() -> f.writeKernel(PhysMem.PAGE_OFFSET, -8, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("negative length");
        assertThat(f.iSize()).isZero();
        p.exit();
        f.close();
    }

    @Test
    void writeKernelRefusesASourceOutsideKernelMemoryWithoutAllocatingABlock(Kernels kernels) {
        Ext2Fs fs = fs(kernels);
        Ext2File f = fs.create(null, "f");
        long free = fs.freeBlocksCount();
        long end = PhysMem.PAGE_OFFSET + fs.mm22().mem().size();
        assertThatThrownBy(() -> f.writeKernel(end - 8, 64, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("outside kernel memory");
        assertThat(fs.freeBlocksCount()).isEqualTo(free);
        assertThat(f.inode().nrBlocks()).isZero();
        f.close();
    }

    @Test
    void createOpenAndUnlinkRefuseWhatIsNotAFileName(Kernels kernels) {
        Ext2Fs fs = fs(kernels);
        for (String bad : new String[] {null, "", ".", "..", "a/b", "nul\0"}) {
            assertThatThrownBy(() -> fs.create(null, bad)).as("'%s'", bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("not a file name");
            assertThatThrownBy(() -> fs.open(null, bad)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> fs.unlink(null, bad)).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> fs.create(null, "x".repeat(256))).isInstanceOf(Ext2Exception.class)
                .hasMessageContaining("EXT2_NAME_LEN").matches(e -> ((Ext2Exception) e).errno() == Errno.ENAMETOOLONG);
        fs.create(null, "x".repeat(255)).close();
    }

    @Test
    void ftruncateRefusesASizeThatIsNegativeAsOffTWithEinval(Kernels kernels) {
        Ext2Fs fs = fs(kernels);
        Ext2File f = fs.create(null, "f");
        assertThat(f.write(new byte[100], 0, 100, 0)).isEqualTo(100);
        // 2.2's do_truncate(): "(off_t) length < 0" is -EINVAL; i_size is an i386 off_t.
        assertThat(f.ftruncate(1L << 31)).isEqualTo(-Errno.EINVAL);
        assertThat(f.ftruncate(Long.MAX_VALUE)).isEqualTo(-Errno.EINVAL);
        assertThat(f.iSize()).isEqualTo(100);
        byte[] got = new byte[64];
        assertThat(f.read(got, 0, 64, 1L << 40)).as("nothing beyond the size to read").isZero();
        assertThat(f.ftruncate((1L << 31) - 1)).as("the largest off_t").isZero();
        assertThat(f.read(got, 0, 64, (1L << 31) - 65)).isEqualTo(64);
        assertThat(got).containsOnly((byte) 0);
        assertThat(f.ftruncate(0)).isZero();
        f.close();
    }
}
