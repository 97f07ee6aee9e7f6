package dev.reclaimlab.fs;

import dev.reclaimlab.fs.xfs.Xfs;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.KmemCache;
import dev.reclaimlab.mm.ShrinkControl;
import dev.reclaimlab.mm.Shrinker;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "32m")
class VfsTest {
    private static KmemCache cache(Kernel k, String name) {
        return k.mm().slub().caches().stream().filter(c -> c != null && c.name().equals(name)).findFirst().orElseThrow();
    }

    private static int errno(Runnable r) {
        try {
            r.run();
        } catch (VfsException e) {
            return e.errno();
        }
        throw new AssertionError("expected a VfsException");
    }

    @Test
    void createLookupMkdirUnlinkRmdir(Kernel k) {
        Xfs xfs = Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20));
        Vfs vfs = xfs.vfs();
        File d = vfs.mkdir("/", "dir");
        assertThat(d.inode().isDir()).isTrue();
        File f = vfs.create("/dir", "a");
        vfs.write(f, 0, "hello".getBytes(StandardCharsets.UTF_8));
        vfs.close(f);
        vfs.close(vfs.create(d, "b"));
        vfs.close(d);
        assertThat(vfs.readdir("/")).containsExactly("dir");
        assertThat(vfs.readdir("/dir")).containsExactly("a", "b");
        File a = vfs.open("/dir/a");
        assertThat(new String(vfs.read(a, 0, 100), StandardCharsets.UTF_8)).isEqualTo("hello");
        vfs.close(a);

        assertThat(errno(() -> vfs.open("/dir/nope"))).isEqualTo(Errno.ENOENT);
        assertThat(errno(() -> vfs.create("/dir", "a"))).isEqualTo(Errno.EEXIST);
        assertThat(errno(() -> vfs.open("/dir/a/x"))).isEqualTo(Errno.ENOTDIR);
        assertThat(errno(() -> vfs.rmdir("/", "dir"))).isEqualTo(Errno.ENOTEMPTY);
        assertThat(errno(() -> vfs.unlink("/", "dir"))).isEqualTo(Errno.EISDIR);

        long freeBefore = xfs.freeBlocks();
        File a2 = vfs.open("/dir/a");
        vfs.fsync(a2);
        vfs.close(a2);
        assertThat(xfs.freeBlocks()).isEqualTo(freeBefore - 1);
        vfs.unlink("/dir", "a");
        vfs.unlink("/dir", "b");
        assertThat(errno(() -> vfs.open("/dir/a"))).isEqualTo(Errno.ENOENT);
        assertThat(xfs.freeBlocks()).as("an unlinked file without users gives its blocks back").isEqualTo(xfs.dblocks());
        vfs.rmdir("/", "dir");
        assertThat(vfs.readdir("/")).isEmpty();
        xfs.umount();
        assertThat(k.oopses()).isEmpty();
    }

    @Test
    void anOpenUnlinkedFileKeepsItsDataUntilTheLastClose(Kernel k) {
        Xfs xfs = Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20));
        Vfs vfs = xfs.vfs();
        File f = vfs.create("/", "tmp");
        vfs.write(f, 0, new byte[] {1, 2, 3});
        vfs.fsync(f);
        vfs.unlink("/", "tmp");
        assertThat(f.inode().nlink()).isZero();
        assertThat(vfs.read(f, 0, 3)).containsExactly(1, 2, 3);
        assertThat(xfs.freeBlocks()).isEqualTo(xfs.dblocks() - 1);
        vfs.close(f);
        assertThat(xfs.freeBlocks()).isEqualTo(xfs.dblocks());
        xfs.umount();
    }

    @Test
    void superblockShrinkerFreesUnusedDentriesAndInodesUnderGfpKernelOnly(Kernel k) {
        Xfs xfs = Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20));
        Vfs vfs = xfs.vfs();
        SuperBlock sb = xfs.sb();
        vfs.close(vfs.mkdir("/", "d"));
        for (int i = 0; i < 100; i++) {
            File f = vfs.create("/d", "f" + i);
            vfs.write(f, 0, new byte[] {(byte) i});
            vfs.fsync(f);
            vfs.close(f);
        }
        KmemCache dentries = cache(k, "dentry");
        KmemCache xfsInodes = cache(k, "xfs_inode");
        long dentriesBefore = dentries.activeObjects();
        long inodesBefore = xfsInodes.activeObjects();
        Shrinker s = sb.shrinker();
        assertThat(k.mm().shrinkers().shrinkers()).contains(s);
        assertThat(sb.dcache().nrUnused()).isEqualTo(100);
        assertThat(s.countObjects(new ShrinkControl(Gfp.GFP_KERNEL))).isGreaterThanOrEqualTo(100);

        ShrinkControl nofs = new ShrinkControl(Gfp.GFP_NOFS);
        nofs.nrToScan = 1000;
        assertThat(s.scanObjects(nofs)).isEqualTo(Shrinker.SHRINK_STOP);
        assertThat(k.mm().shrinkSlab(Gfp.GFP_NOFS, 0)).isZero();
        assertThat(dentries.activeObjects()).isEqualTo(dentriesBefore);
        assertThat(xfsInodes.activeObjects()).isEqualTo(inodesBefore);

        for (int i = 0; i < 5 && sb.dcache().nrUnused() + sb.nrInodesUnused() + xfs.nrReclaimableInodes() > 0; i++) {
            k.mm().shrinkSlab(Gfp.GFP_KERNEL, 0);
        }
        assertThat(sb.dcache().nrUnused()).isZero();
        assertThat(sb.nrInodesUnused()).isZero();
        assertThat(xfs.nrReclaimableInodes()).isZero();
        assertThat(dentriesBefore - dentries.activeObjects()).isGreaterThanOrEqualTo(100);
        assertThat(inodesBefore - xfsInodes.activeObjects()).isGreaterThanOrEqualTo(100);
        assertThat(xfs.nrInCoreInodes()).as("only the root, pinned by the superblock").isEqualTo(1);

        File f7 = vfs.open("/d/f7");
        assertThat(vfs.read(f7, 0, 10)).containsExactly(7);
        vfs.close(f7);
        xfs.umount();
        assertThat(k.mm().shrinkers().shrinkers()).doesNotContain(s);
    }

    @Test
    void dirtyUnusedInodesStayUntilWritebackCleansThem(Kernel k) {
        Xfs xfs = Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20));
        Vfs vfs = xfs.vfs();
        SuperBlock sb = xfs.sb();
        File f = vfs.create("/", "dirty");
        vfs.write(f, 0, new byte[4096]);
        Inode inode = f.inode();
        vfs.close(f);
        sb.dcache().pruneDcacheSb(10);
        assertThat(sb.nrInodesUnused()).isEqualTo(1);
        assertThat(sb.pruneIcacheSb(10)).isZero();
        assertThat(sb.nrInodesUnused()).as("still on the LRU").isEqualTo(1);
        k.mm().writeback().filemapWriteAndWait(inode.mapping());
        assertThat(sb.pruneIcacheSb(10)).isEqualTo(1);
        xfs.umount();
    }

    @Test
    void directoryAndFileI_rwsemsHaveTheirFilesystemsLockClasses(Kernel k) {
        Xfs xfs = Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20));
        Vfs vfs = xfs.vfs();
        File f = vfs.create("/", "f");
        assertThat(f.inode().iLockDepMap().key()).isSameAs(Xfs.XFS_TYPE.iMutexKey());
        assertThat(xfs.sb().root().inode().iLockDepMap().key()).isSameAs(Xfs.XFS_TYPE.iMutexDirKey());
        // The kernel's names: every type's key prints alike, lockdep tells them apart by "#N".
        assertThat(Xfs.XFS_TYPE.iMutexKey().name()).isEqualTo("&sb->s_type->i_mutex_key");
        assertThat(Xfs.XFS_TYPE.iMutexDirKey().name()).isEqualTo("&type->i_mutex_dir_key");
        vfs.close(f);
        xfs.umount();
    }

    @Test
    void unmountWithAnOpenFileIsRefused(Kernel k) {
        Xfs xfs = Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20));
        File f = xfs.vfs().create("/", "f");
        assertThatThrownBy(xfs::umount).hasMessageContaining("Busy inodes after unmount");
        assertThat(f.inode().iCount()).isEqualTo(1);
    }
}
