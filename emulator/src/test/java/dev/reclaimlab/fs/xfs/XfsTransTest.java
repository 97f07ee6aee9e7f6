package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.MemBlockDevice;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.fs.VfsException;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "32m")
class XfsTransTest {
    private static int errno(Runnable r) {
        try {
            r.run();
        } catch (VfsException e) {
            return e.errno();
        }
        throw new AssertionError("expected a VfsException");
    }

    @Test
    void aTransactionAnExceptionLeavesGivesBackItsLocksAndScopeAndADirtyOneShutsTheFilesystemDown(Kernel k) {
        Xfs xfs = Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20));
        Vfs vfs = xfs.vfs();
        File f = vfs.create("/", "f");
        XfsInode ip = (XfsInode) f.inode();
        assertThatThrownBy(() -> {
            try (XfsTrans tp = XfsTrans.xfsTransAlloc(xfs)) {
                ip.xfsIlock(XfsInode.XFS_ILOCK_EXCL);
                tp.xfsTransIjoin(ip, XfsInode.XFS_ILOCK_EXCL);
                throw new IllegalStateException("boom");
            }
        }).hasMessage("boom");
        assertThat(ip.ilock().writer()).as("ILOCK given back").isNull();
        assertThat(k.currentTask().flags() & TaskFlags.PF_MEMALLOC_NOFS).as("NOFS scope ended").isZero();
        assertThat(xfs.forcedShutdown()).as("nothing was logged").isFalse();
        assertThat(vfs.write(f, 0, new byte[] {1})).isEqualTo(1);

        try (XfsTrans tp = XfsTrans.xfsTransAlloc(xfs)) {
            ip.xfsIlock(XfsInode.XFS_ILOCK_EXCL);
            tp.xfsTransIjoin(ip, XfsInode.XFS_ILOCK_EXCL);
            tp.xfsTransLogInode(ip);
        }
        assertThat(ip.ilock().writer()).isNull();
        assertThat(xfs.forcedShutdown()).isTrue();
        assertThat(k.dmesg()).contains("Shutting down filesystem");
        assertThat(errno(() -> vfs.write(f, 0, new byte[] {2}))).isEqualTo(Errno.EIO);
        assertThat(errno(() -> vfs.read(f, 0, 1))).isEqualTo(Errno.EIO);
        assertThat(errno(() -> vfs.fsync(f))).isEqualTo(Errno.EIO);
        assertThat(errno(() -> vfs.create("/", "g"))).isEqualTo(Errno.EIO);
        assertThat(errno(() -> vfs.unlink("/", "f"))).isEqualTo(Errno.EIO);
        vfs.close(f);
        xfs.umount();
    }
}
