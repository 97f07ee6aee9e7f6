package dev.reclaimlab.fs.buffer;

import dev.reclaimlab.block.RamDisk;
import dev.reclaimlab.block.request.IdeDisk;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.swap.Mm22;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Bad input to 2.2's buffer cache, as the fuzz found it accepted. */
@Timeout(60)
@ExtendWith(KernelExtension.class)
class BufferCacheCheckTest {

    @Test
    void getblkRefusesABlockWhoseByteOffsetOverflows(Kernels kernels) {
        Kernel k = kernels.boot(b -> b.version(KernelVersion.V2_2).memory("16m"));
        Mm22 mm = Mm22.boot(k);
        IdeDisk disk = new IdeDisk(mm.blk(), "hda1", new RamDisk(k, 1, 4L << 20), 1024);
        long huge = Long.MAX_VALUE / 512 + 7;
        assertThatThrownBy(() -> mm.buffers().getblk(disk, huge, 1024)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("beyond the device");
        assertThatThrownBy(() -> mm.buffers().getblk(disk, 4096, 1024)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("beyond the device");
        assertThatThrownBy(() -> mm.buffers().getblk(disk, 0, 0)).isInstanceOf(IllegalArgumentException.class);
        mm.buffers().brelse(mm.buffers().getblk(disk, 4095, 1024));
    }
}
