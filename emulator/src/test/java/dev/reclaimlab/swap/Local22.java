package dev.reclaimlab.swap;

import dev.reclaimlab.block.RamDisk;
import dev.reclaimlab.block.request.IdeDisk;
import dev.reclaimlab.fs.ext2.Ext2Fs;
import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.testkit.Kernels;

/** A 2.2.1 kernel with a swap partition and a local ext2, no network: for the mm tests. */
record Local22(Kernel kernel, Mm22 mm, IdeDisk swap, IdeDisk disk, Ext2Fs fs) {
    static Local22 boot(Kernels kernels, String memory, Fix... fixes) {
        Kernel k = kernels.boot(b -> b.version(KernelVersion.V2_2).memory(memory).with(fixes));
        Mm22 mm = Mm22.boot(k);
        IdeDisk swap = new IdeDisk(mm.blk(), "hda2", new RamDisk(k, 0, 64L << 20), PhysMem.PAGE_SIZE);
        mm.swapon(swap);
        IdeDisk disk = new IdeDisk(mm.blk(), "hda1", new RamDisk(k, 1, 32L << 20), 1024);
        return new Local22(k, mm, swap, disk, Ext2Fs.mkfs(mm, disk));
    }
}
