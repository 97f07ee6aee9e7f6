package dev.reclaimlab.fs.ext2;

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

import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Inode bitmaps on the device, as fs/ext2/ialloc.c of Linux 2.2 keeps them: ext2_new_inode() and
 * ext2_free_inode() set and clear the inode's bit in its group's bitmap, loaded through an LRU of eight
 * under lock_super.
 */
@Timeout(60)
@ExtendWith(KernelExtension.class)
class Ext2InodeBitmapTest {
    private static final int GROUPS = 12;

    private record Disk(Ext2Fs fs, IdeDisk dev, RamDisk medium) {
    }

    private static Disk mkfs(Kernels kernels) {
        Kernel k = kernels.boot(b -> b.version(KernelVersion.V2_2).memory("32m"));
        Mm22 mm = Mm22.boot(k);
        RamDisk medium = new RamDisk(k, 1, (long) (GROUPS + 1) * 8 << 20);
        IdeDisk dev = new IdeDisk(mm.blk(), "hda1", medium, 1024);
        return new Disk(Ext2Fs.mkfs(mm, dev), dev, medium);
    }

    private static boolean bitOnDisk(Disk d, long ino) {
        int group = (int) ((ino - 1) / Ext2Fs.INODES_PER_GROUP);
        int bit = (int) ((ino - 1) % Ext2Fs.INODES_PER_GROUP);
        byte[] b = new byte[1];
        d.medium().peek(d.fs().inodeBitmapBlock(group) * 1024 + (bit >> 3), b, 0, 1);
        return (b[0] & (1 << (bit & 7))) != 0;
    }

    private static Ext2Inode[] dirsInDistinctGroups(Ext2Fs fs) {
        Ext2Inode[] dirs = new Ext2Inode[GROUPS];
        Set<Integer> groups = new HashSet<>();
        for (int i = 0; i < GROUPS; i++) {
            dirs[i] = fs.mkdir(null, "d" + i);
            groups.add(dirs[i].group());
        }
        assertThat(groups).as("mkdir puts each directory in another group").hasSize(GROUPS);
        assertThat(GROUPS).isGreaterThan(Ext2BitmapLru.EXT2_MAX_GROUP_LOADED);
        return dirs;
    }

    @Test
    void aNewInodeIsNumberedByItsGroupAndItsBitReachesTheDeviceAndIsClearedWhenTheFileIsDeleted(Kernels kernels) {
        Disk d = mkfs(kernels);
        Ext2Fs fs = d.fs();
        Ext2Inode[] dirs = dirsInDistinctGroups(fs);
        Ext2File[] files = new Ext2File[GROUPS];
        for (int i = 0; i < GROUPS; i++) {
            files[i] = fs.create(dirs[i], "f");
            long ino = files[i].inode().ino();
            assertThat((ino - 1) / Ext2Fs.INODES_PER_GROUP).as("inode %d's group", ino)
                    .isEqualTo(files[i].inode().group());
        }
        assertThat(fs.mm22().buffers().syncBuffers(d.dev())).isZero();
        for (Ext2File f : files) {
            assertThat(bitOnDisk(d, f.inode().ino())).as("inode %d in use on disk", f.inode().ino()).isTrue();
        }
        assertThat(bitOnDisk(d, Ext2Ialloc.EXT2_ROOT_INO)).as("the root inode").isTrue();
        for (int i = 0; i < GROUPS; i++) {
            long ino = files[i].inode().ino();
            fs.unlink(dirs[i], "f");
            files[i].close();
            assertThat(fs.mm22().buffers().syncBuffers(d.dev())).isZero();
            assertThat(bitOnDisk(d, ino)).as("inode %d free on disk", ino).isFalse();
        }
        assertThat(fs.errors()).isZero();
    }

    @Test
    void creatingFilesInMoreGroupsThanTheLruHoldsReloadsAnInodeBitmapForEachCreate(Kernels kernels) {
        Ext2Fs fs = mkfs(kernels).fs();
        Ext2Inode[] dirs = dirsInDistinctGroups(fs);
        long before = fs.inodeBitmapReads();
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < GROUPS; i++) {
                fs.create(dirs[i], "f" + round).close();
            }
        }
        // Round robin over more groups than the LRU holds: every create misses it and reads the bitmap.
        assertThat(fs.inodeBitmapReads() - before).isEqualTo(2L * GROUPS);
        assertThat(fs.errors()).isZero();
    }
}
