package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.Inode;
import dev.reclaimlab.fs.MemBlockDevice;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.assertj.core.api.Assertions.assertThat;

/** 4.3's relatime: touch_atime() -> relatime_need_update() -> xfs_vn_update_time() at the end of a read. */
@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "32m")
class XfsAtimeTest {
    private static Xfs mount(Kernel k, boolean relatime) {
        return Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20), new XfsMountOptions(2048, 8, 32 << 10, relatime));
    }

    /**
     * current_fs_time() advances once a tick and touch_atime() does nothing when atime is already now, so
     * each step starts in a later tick than the last: a spin of at most one (compressed, 1 ms) jiffy.
     */
    private static void nextTick(Inode ip) {
        long t = ip.currentFsTime();
        while (ip.currentFsTime() == t) {
            Thread.onSpinWait();
        }
    }

    /** A file written and closed, its create and size transactions on disk (unpinned). */
    private static File written(Xfs xfs, String name) {
        Vfs vfs = xfs.vfs();
        File f = vfs.create("/", name);
        vfs.write(f, 0, new byte[8192]);
        // xfs_iunpin_wait(): forces the log and waits for the checkpoint's IO completion to unpin it.
        xfs.icache().xfsIunpinWait((XfsInode) f.inode());
        return f;
    }

    @Test
    void underRelatimeTheFirstReadLogsTheInodeTheSecondDoesNotAndAReadAfterAWriteDoesAgain(Kernel k) {
        Xfs xfs = mount(k, true);
        Vfs vfs = xfs.vfs();
        File f = written(xfs, "f");
        XfsInode ip = (XfsInode) f.inode();
        nextTick(ip);
        long atime0 = ip.iAtime();
        assertThat(ip.relatimeNeedUpdate(ip.currentFsTime())).as("atime not after mtime").isTrue();

        assertThat(vfs.read(f, 0, 8192)).hasSize(8192);
        assertThat(ip.iAtime()).as("atime updated").isGreaterThan(atime0).isGreaterThan(ip.iMtime());
        assertThat(ip.pincount()).as("the timestamp transaction pins the inode in the CIL").isEqualTo(1);
        xfs.icache().xfsIunpinWait(ip);
        assertThat(ip.pincount()).as("unpinned once the log is forced").isZero();

        nextTick(ip);
        long atime1 = ip.iAtime();
        vfs.read(f, 0, 8192);
        assertThat(ip.iAtime()).as("relatime: atime after mtime and ctime, less than a day old").isEqualTo(atime1);
        assertThat(ip.pincount()).as("nothing logged").isZero();

        nextTick(ip);
        vfs.write(f, 0, new byte[] {1});
        assertThat(ip.iMtime()).as("file_update_time()").isGreaterThan(atime1);
        assertThat(ip.pincount()).as("a write within the size logs nothing").isZero();
        nextTick(ip);
        vfs.read(f, 0, 8192);
        assertThat(ip.iAtime()).isGreaterThan(ip.iMtime());
        assertThat(ip.pincount()).as("mtime after atime: logged again").isEqualTo(1);
        vfs.close(f);
        xfs.umount();
    }

    @Test
    void theAtimeSurvivesInodeReclaim(Kernel k) {
        Xfs xfs = mount(k, true);
        Vfs vfs = xfs.vfs();
        File f = written(xfs, "f");
        nextTick(f.inode());
        vfs.read(f, 0, 1);
        long atime = f.inode().iAtime();
        long ino = f.inode().ino();
        vfs.fsync(f);
        vfs.close(f);
        xfs.sb().dcache().pruneDcacheSb(Long.MAX_VALUE);
        xfs.sb().pruneIcacheSb(Long.MAX_VALUE);
        xfs.icache().xfsReclaimInodesAll();
        assertThat(xfs.peekInode(ino)).as("reclaimed").isNull();
        File again = vfs.open("/f");
        assertThat(again.inode()).isNotSameAs(null);
        assertThat(again.inode().iAtime()).as("from the dinode").isEqualTo(atime);
        nextTick(again.inode());
        vfs.read(again, 0, 1);
        assertThat(((XfsInode) again.inode()).pincount()).as("atime after mtime: no update").isZero();
        vfs.close(again);
        xfs.umount();
    }

    @Test
    void withoutRelatimeAReadLogsNothing(Kernel k) {
        Xfs xfs = mount(k, false);
        Vfs vfs = xfs.vfs();
        File f = written(xfs, "f");
        XfsInode ip = (XfsInode) f.inode();
        nextTick(ip);
        long atime = ip.iAtime();
        vfs.read(f, 0, 8192);
        assertThat(ip.iAtime()).as("noatime").isEqualTo(atime);
        assertThat(ip.pincount()).isZero();
        vfs.close(f);
        xfs.umount();
    }
}
