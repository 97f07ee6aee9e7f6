package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.Inode;
import dev.reclaimlab.fs.MemBlockDevice;
import dev.reclaimlab.fs.SuperBlock;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelConfig;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.LockdepReport;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.Readahead;
import dev.reclaimlab.mm.ShrinkControl;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "32m")
class XfsReclaimTest {
    private static final Duration BLOCKED = Duration.ofSeconds(10);

    private static long scan(SuperBlock sb) {
        ShrinkControl sc = new ShrinkControl(Gfp.GFP_KERNEL);
        sc.nrToScan = 1024;
        return sb.shrinker().scanObjects(sc);
    }

    /** A file whose data is on disk but whose last size change is only in the CIL: unused, clean, pinned. */
    private static long pinnedUnusedInode(Xfs xfs) {
        Vfs vfs = xfs.vfs();
        File f = vfs.create("/", "image");
        vfs.write(f, 0, XfsDataTest.random(9, 8192));
        xfs.kernel().mm().writeback().filemapWriteAndWait(f.inode().mapping());
        xfs.log().xfsLogForce();
        vfs.write(f, 8192, XfsDataTest.random(10, 100));
        xfs.kernel().mm().writeback().filemapWriteAndWait(f.inode().mapping());
        long ino = f.inode().ino();
        vfs.close(f);
        assertThat(xfs.sb().dcache().pruneDcacheSb(10)).isEqualTo(1);
        assertThat(xfs.sb().pruneIcacheSb(10)).isEqualTo(1);
        XfsInode ip = xfs.peekInode(ino);
        assertThat(ip.iFlags() & XfsInode.XFS_IRECLAIMABLE).isNotZero();
        assertThat(ip.pincount()).as("the unwritten checkpoint pins it").isPositive();
        return ino;
    }

    @ParameterizedTest(name = "obey_mapping_gfp={0}")
    @ValueSource(booleans = {false, true})
    void readaheadAddsPagesWithGfpKernelBeforeTheFixAndWithTheMappingsGfpNofsAfter(boolean fix, Kernels kernels) {
        Kernel k = kernels.boot(b -> b.with(Readahead.OBEY_MAPPING_GFP, fix));
        Xfs xfs = Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20));
        File f = xfs.vfs().create("/", "f");
        xfs.vfs().write(f, 0, XfsDataTest.random(3, 40_000));
        k.mm().writeback().filemapWriteAndWait(f.inode().mapping());
        assertThat(k.mm().filemap().invalidateMappingPages(f.inode().mapping(), 0)).isZero();
        assertThat(f.inode().mapping().mappingGfpMask()).isEqualTo(Gfp.GFP_NOFS);
        List<Integer> gfps = new CopyOnWriteArrayList<>();
        k.mm().filemap().setAddToPageCacheTrace((m, index, gfp) -> {
            if (m == f.inode().mapping()) {
                gfps.add(gfp);
            }
        });
        assertThat(xfs.vfs().read(f, 0, 40_000)).isEqualTo(XfsDataTest.random(3, 40_000));
        k.mm().filemap().setAddToPageCacheTrace(null);
        // All ten pages came in one readahead window through xfs_vm_readpages() -> mpage_readpages().
        assertThat(gfps).hasSize(10).containsOnly(fix ? Gfp.GFP_NOFS : Gfp.GFP_KERNEL);
        xfs.vfs().close(f);
        xfs.umount();
    }

    @Test
    void theSuperblockShrinkerWorksInBatchesOf1024AsAllocSuperSetsIt(Kernel k) {
        Xfs xfs = Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20));
        assertThat(xfs.sb().shrinker().batch()).isEqualTo(SuperBlock.SUPER_SHRINK_BATCH).isEqualTo(1024);
        assertThat(k.mm().shrinkers().shrinkers()).contains(xfs.sb().shrinker());
        xfs.umount();
    }

    @Test
    void aWriteThatChangesTheSizePinsTheInodeUntilTheLogIsForced(Kernel k) {
        MemBlockDevice dev = new MemBlockDevice(k, "ram0", 8 << 20);
        Xfs xfs = Xfs.mount(k, dev);
        Vfs vfs = xfs.vfs();
        File f = vfs.create("/", "f");
        xfs.log().xfsLogForce();
        XfsInode ip = (XfsInode) f.inode();
        assertThat(ip.pincount()).isZero();
        vfs.write(f, 0, new byte[100]);
        assertThat(ip.pincount()).isEqualTo(1);
        vfs.write(f, 0, new byte[50]);
        assertThat(ip.pincount()).as("no size change, nothing logged").isEqualTo(1);
        long iclogs = xfs.log().iclogsWritten();
        assertThat(xfs.log().xfsLogForce()).isZero();
        assertThat(ip.pincount()).isZero();
        assertThat(xfs.log().iclogsWritten()).isGreaterThan(iclogs);
        vfs.close(f);
        xfs.umount();
    }

    @Test
    void reclaimOfAPinnedInodeForcesTheLogAndWaitsForTheLogIo2015(Kernel k) {
        MemBlockDevice dev = new MemBlockDevice(k, "ram0", 8 << 20);
        Xfs xfs = Xfs.mount(k, dev);
        long ino = pinnedUnusedInode(xfs);
        long forces = xfs.log().forces();
        dev.closeGate();
        AtomicLong freed = new AtomicLong(-1);
        Task reclaimer = k.kthreadRun("reclaimer", t -> freed.set(scan(xfs.sb())));
        Await.blocked(reclaimer, BLOCKED);
        assertThat(xfs.log().forces()).as("reclaim forced the log").isGreaterThan(forces);
        assertThat(xfs.peekInode(ino)).as("still waiting for the log IO").isNotNull();
        dev.openGate();
        assertThat(k.kthreadStop(reclaimer)).isTrue();
        assertThat(freed.get()).isPositive();
        assertThat(xfs.peekInode(ino)).isNull();
        assertThat(xfs.reclaimUnpinWaits()).isEqualTo(1);
        assertThat(xfs.reclaimSkippedPinned()).isZero();
        File f = xfs.vfs().open("/image");
        assertThat(f.inode().iSize()).isEqualTo(8292);
        assertThat(xfs.vfs().read(f, 0, 8192)).isEqualTo(XfsDataTest.random(9, 8192));
        xfs.vfs().close(f);
        xfs.umount();
        assertThat(k.oopses()).isEmpty();
        assertThat(k.dmesg()).doesNotContain("WARNING");
    }

    @Test
    void nonblockingReclaimSkipsPinnedInodesAndFreesThemOnceUnpinned(Kernels kernels) {
        Kernel k = kernels.boot(b -> b.with(XfsIcache.XFS_NONBLOCKING_INODE_RECLAIM));
        MemBlockDevice dev = new MemBlockDevice(k, "ram0", 8 << 20);
        Xfs xfs = Xfs.mount(k, dev);
        long ino = pinnedUnusedInode(xfs);
        long forces = xfs.log().forces();
        dev.closeGate();
        scan(xfs.sb());
        dev.openGate();
        assertThat(xfs.log().forces()).as("no log force from reclaim").isEqualTo(forces);
        assertThat(xfs.reclaimSkippedPinned()).isEqualTo(1);
        assertThat(xfs.peekInode(ino)).isNotNull();
        assertThat(xfs.nrReclaimableInodes()).isEqualTo(1);
        xfs.log().xfsLogForce();
        assertThat(scan(xfs.sb())).isEqualTo(1);
        assertThat(xfs.peekInode(ino)).isNull();
        assertThat(xfs.reclaimUnpinWaits()).isZero();
        xfs.umount();
    }

    @Test
    void aReclaimableInodeLookedUpAgainIsRecycledWithItsData(Kernels kernels) {
        Kernel k = kernels.boot(b -> b.with(XfsIcache.XFS_NONBLOCKING_INODE_RECLAIM));
        Xfs xfs = Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20));
        long ino = pinnedUnusedInode(xfs);
        XfsInode before = xfs.peekInode(ino);
        File f = xfs.vfs().open("/image");
        assertThat(f.inode()).isSameAs(before);
        assertThat(before.iFlags() & XfsInode.XFS_IRECLAIMABLE).isZero();
        assertThat(xfs.nrReclaimableInodes()).isZero();
        assertThat(xfs.vfs().read(f, 0, 8192)).isEqualTo(XfsDataTest.random(9, 8192));
        xfs.vfs().close(f);
        xfs.umount();
    }

    @ParameterizedTest(name = "linux-{0}")
    @ValueSource(strings = {"4.3", "5.3"})
    void lockdepNamesXfsIlockWhenItIsHeldAcrossAGfpKernelAllocationThatReclaimCouldRecurseFrom(String version,
                                                                                               Kernels kernels) {
        Kernel k = kernels.boot(b -> b.version(KernelVersion.parse(version)));
        Xfs xfs = Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20));
        long ino = pinnedUnusedInode(xfs);
        File other = xfs.vfs().create("/", "other");
        Task t = k.currentTask();
        k.lockdep().kswapdReclaimEnter(t);
        assertThat(scan(xfs.sb())).isPositive();
        k.lockdep().kswapdReclaimExit(t);
        assertThat(xfs.peekInode(ino)).isNull();
        assertThat(k.lockdep().reports()).isEmpty();
        XfsInode ip = (XfsInode) other.inode();
        ip.xfsIlock(XfsInode.XFS_ILOCK_SHARED);
        k.mm().kfree(k.mm().kmalloc(64, Gfp.GFP_KERNEL));
        ip.xfsIunlock(XfsInode.XFS_ILOCK_SHARED);
        assertThat(k.lockdep().reports()).hasSize(1);
        LockdepReport r = k.lockdep().reports().get(0);
        if (version.equals("4.3")) {
            // The reader marks the class RECLAIM_FS-ON-R after reclaim marked it IN-RECLAIM_FS-W.
            assertThat(r.type()).isEqualTo(LockdepReport.Type.INCONSISTENT_USAGE);
            assertThat(r.classes()).containsExactly("&xfs_nondir_ilock_class");
            assertThat(r.usageConflict().previous()).isEqualTo("IN-RECLAIM_FS-W");
            assertThat(r.usageConflict().next()).isEqualTo("RECLAIM_FS-ON-R");
        } else {
            assertThat(r.type()).isEqualTo(LockdepReport.Type.CIRCULAR);
            assertThat(r.classes()).containsExactly("fs_reclaim", "&xfs_nondir_ilock_class");
        }
        xfs.vfs().close(other);
        xfs.umount();
    }

    @Test
    void theMappingGfpFixLandedIn43AfterRc3AndTheXfsReclaimFixIsNotIn43() {
        KernelConfig d = KernelConfig.defaults();
        assertThat(d.version()).isEqualTo(KernelVersion.V4_3);
        assertThat(d.has(Readahead.OBEY_MAPPING_GFP)).isTrue();
        assertThat(d.has(XfsIcache.XFS_NONBLOCKING_INODE_RECLAIM)).isFalse();
        KernelConfig rc3 = d.toBuilder().without(Readahead.OBEY_MAPPING_GFP)
                .with(XfsIcache.XFS_NONBLOCKING_INODE_RECLAIM).build().toBuilder().build();
        assertThat(rc3.has(Readahead.OBEY_MAPPING_GFP)).isFalse();
        assertThat(rc3.has(XfsIcache.XFS_NONBLOCKING_INODE_RECLAIM)).isTrue();
        assertThat(rc3.fixes()).extracting(Fix::name).containsExactly("xfs_nonblocking_inode_reclaim");
        KernelConfig v42 = KernelConfig.builder().version(KernelVersion.parse("4.2")).build();
        assertThat(v42.has(Readahead.OBEY_MAPPING_GFP)).isFalse();
    }
}
