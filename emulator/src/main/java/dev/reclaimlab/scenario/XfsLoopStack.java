package dev.reclaimlab.scenario;

import dev.reclaimlab.block.LoopDevice;
import dev.reclaimlab.block.RamDisk;
import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.LoopFile;
import dev.reclaimlab.fs.xfs.Xfs;
import dev.reclaimlab.fs.xfs.XfsMountOptions;
import dev.reclaimlab.kernel.Kernel;

/**
 * The stack seed 001 runs on (Linux 4.3), built in one place for the scenario and its tests: an XFS on
 * {@code ram0} holding a sparse image file, {@code loop1} over it (losetup), and an upper XFS on {@code
 * loop1} (mount -o loop). Only the image's last page is written: holes read as zeros.
 */
public record XfsLoopStack(RamDisk ram, Xfs lower, LoopDevice loop, Xfs upper) {

    /** The upper XFS with its default log; {@code upper} may be null for the mount's defaults. */
    public static XfsLoopStack build(Kernel k, long ramBytes, long imageBytes, XfsMountOptions upper) {
        if (k == null) {
            throw new IllegalArgumentException("xfs-on-loop stack: no kernel");
        }
        if (imageBytes < 4096 || imageBytes % 4096 != 0 || imageBytes >= ramBytes) {
            throw new IllegalArgumentException("xfs-on-loop stack: image of " + imageBytes + " bytes on a ram disk of "
                    + ramBytes + " (whole pages, smaller than the disk)");
        }
        RamDisk ram = new RamDisk(k, 0, ramBytes);
        Xfs lower = Xfs.mount(k, ram);
        File image = lower.vfs().create("/", "loop1.img");
        lower.vfs().write(image, imageBytes - 4096, new byte[4096]);
        LoopFile backing = new LoopFile(lower.sb(), image.inode());
        lower.vfs().close(image);
        LoopDevice loop = new LoopDevice(k, 1, backing);
        Xfs up = upper == null ? Xfs.mount(k, loop) : Xfs.mount(k, loop, upper);
        return new XfsLoopStack(ram, lower, loop, up);
    }
}
