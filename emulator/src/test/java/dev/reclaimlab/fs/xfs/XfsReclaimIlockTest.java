package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.MemBlockDevice;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.ShrinkControl;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The ILOCK across an inode's ownership changes (evicted by the VFS, recycled by xfs_iget): a new verdict
 * instance each time, and with xfs_reclaimable_ilock_class a class of its own in between; inode reclaim's
 * ILOCK with and without xfs_reclaim_ilock_nowait.
 */
@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "32m", kswapd = false)
class XfsReclaimIlockTest {
    private static long scan(Xfs xfs) {
        ShrinkControl sc = new ShrinkControl(Gfp.GFP_KERNEL);
        sc.nrToScan = 1024;
        return xfs.sb().shrinker().scanObjects(sc);
    }

    /** A directory that was used, closed and pruned: evicted, XFS-reclaimable. */
    private static XfsInode evictedDir(Xfs xfs) {
        if (xfs.sb().dcache().nrDentries() < 2) {
            xfs.vfs().close(xfs.vfs().mkdir("/", "d"));
        }
        File f = xfs.vfs().open("/d");
        long ino = f.inode().ino();
        xfs.vfs().close(f);
        xfs.log().xfsLogForce();
        xfs.sb().dcache().pruneDcacheSb(Long.MAX_VALUE);
        xfs.sb().pruneIcacheSb(Long.MAX_VALUE);
        XfsInode ip = xfs.peekInode(ino);
        assertThat(ip.iFlags() & XfsInode.XFS_IRECLAIMABLE).isNotZero();
        return ip;
    }

    @ParameterizedTest(name = "xfs_reclaimable_ilock_class={0}")
    @ValueSource(booleans = {false, true})
    void theIlockIsANewInstanceWhenEvictedAndWhenRecycledAndChangesClassOnlyWithTheFix(boolean fix,
                                                                                       Kernels kernels) {
        Kernel k = kernels.boot(b -> b.with(XfsIcache.XFS_RECLAIMABLE_ILOCK_CLASS, fix));
        Xfs xfs = Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20));
        xfs.vfs().close(xfs.vfs().mkdir("/", "d"));
        File f = xfs.vfs().open("/d");
        XfsInode ip = (XfsInode) f.inode();
        long referenced = ip.ilock().depMap().instance();
        assertThat(ip.ilock().depMap().className()).isEqualTo("&xfs_dir_ilock_class");
        xfs.vfs().close(f);
        XfsInode evicted = evictedDir(xfs);
        assertThat(evicted).isSameAs(ip);
        long reclaimable = ip.ilock().depMap().instance();
        assertThat(reclaimable).as("evicted: a new instance").isNotEqualTo(referenced);
        assertThat(ip.ilock().depMap().className()).isEqualTo(fix ? "xfs_ilock_reclaimable" : "&xfs_dir_ilock_class");
        File again = xfs.vfs().open("/d");
        assertThat(again.inode()).as("recycled").isSameAs(ip);
        assertThat(ip.ilock().depMap().instance()).as("recycled: a new instance").isNotEqualTo(reclaimable)
                .isNotEqualTo(referenced);
        assertThat(ip.ilock().depMap().className()).as("xfs_setup_inode()'s class again")
                .isEqualTo("&xfs_dir_ilock_class");
        xfs.vfs().close(again);
        xfs.umount();
    }

    @ParameterizedTest(name = "xfs_reclaim_ilock_nowait={0}")
    @ValueSource(booleans = {false, true})
    void reclaimWaitsForABusyIlockButWithNowaitSkipsTheInode(boolean nowait, Kernels kernels) {
        Kernel k = kernels.boot(b -> b.with(XfsIcache.XFS_RECLAIM_ILOCK_NOWAIT, nowait));
        Xfs xfs = Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20));
        XfsInode ip = evictedDir(xfs);
        ip.xfsIlock(XfsInode.XFS_ILOCK_SHARED);
        AtomicLong freed = new AtomicLong(-1);
        Task reclaimer = k.kthreadRun("reclaimer", t -> freed.set(scan(xfs)));
        if (nowait) {
            Await.until(() -> freed.get() >= 0, "reclaim to pass the busy inode", Duration.ofSeconds(10));
            assertThat(xfs.nrReclaimableInodes()).as("skipped, still reclaimable").isEqualTo(1);
            ip.xfsIunlock(XfsInode.XFS_ILOCK_SHARED);
            assertThat(scan(xfs)).isEqualTo(1);
        } else {
            Await.blocked(reclaimer, Duration.ofSeconds(10));
            ip.xfsIunlock(XfsInode.XFS_ILOCK_SHARED);
            Await.until(() -> freed.get() >= 0, "reclaim to finish", Duration.ofSeconds(10));
            assertThat(freed.get()).isEqualTo(1);
        }
        assertThat(k.kthreadStop(reclaimer)).isTrue();
        assertThat(xfs.nrReclaimableInodes()).isZero();
        xfs.umount();
    }
}
