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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Negative dentries on a local XFS, as Linux 3.14 keeps them. */
@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "32m", version = "3.14")
class NegativeDentryTest {
    private static KmemCache cache(Kernel k, String name) {
        return k.mm().slub().caches().stream().filter(c -> c != null && c.name().equals(name)).findFirst().orElseThrow();
    }

    private static void assertEnoent(Runnable r) {
        assertThatThrownBy(r::run).isInstanceOfSatisfying(VfsException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.ENOENT));
    }

    /** d_lookup() of {@code name} in the root, its reference dropped at once; null if not hashed. */
    private static Dentry cached(SuperBlock sb, String name) {
        Dentry d = sb.dcache().dLookup(sb.root(), name);
        if (d != null) {
            sb.dcache().dput(d);
        }
        return d;
    }

    @Test
    void anUnlinkedNameStaysAsANegativeDentryAndALookupOfItAllocatesNothing(Kernel k) {
        Xfs xfs = Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20));
        Vfs vfs = xfs.vfs();
        SuperBlock sb = xfs.sb();
        vfs.close(vfs.create("/", "f"));
        Dentry positive = cached(sb, "f");
        long inodes = sb.nrInodes();
        vfs.unlink("/", "f");
        Dentry after = cached(sb, "f");
        assertThat(after).as("the same dentry, still hashed").isSameAs(positive);
        assertThat(after.inode()).as("negative").isNull();
        assertThat(sb.nrInodes()).as("the unlinked inode was evicted").isEqualTo(inodes - 1);
        long dentries = sb.dcache().nrDentries();
        long objects = cache(k, "dentry").activeObjects();
        assertEnoent(() -> vfs.stat("/f"));
        assertEnoent(() -> vfs.unlink("/", "f"));
        assertThat(sb.dcache().nrDentries()).isEqualTo(dentries);
        assertThat(cache(k, "dentry").activeObjects()).as("no __d_alloc()").isEqualTo(objects);
        assertThat(sb.dcache().nrUnused()).as("the negative dentry is on the LRU").isEqualTo(1);
        xfs.umount();
        assertThat(k.oopses()).isEmpty();
    }

    @Test
    void aLookupOfAnAbsentNameLeavesANegativeDentryThatAnsweresTheNextOne(Kernel k) {
        Xfs xfs = Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20));
        Vfs vfs = xfs.vfs();
        SuperBlock sb = xfs.sb();
        long dentries = sb.dcache().nrDentries();
        assertEnoent(() -> vfs.open("/nope"));
        assertThat(sb.dcache().nrDentries()).isEqualTo(dentries + 1);
        assertThat(cached(sb, "nope").inode()).isNull();
        assertEnoent(() -> vfs.open("/nope"));
        assertThat(sb.dcache().nrDentries()).as("the second lookup allocates none").isEqualTo(dentries + 1);
        xfs.umount();
    }

    @Test
    void aCreateOnANegativeDentryInstantiatesItWithoutANewDentry(Kernel k) {
        Xfs xfs = Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20));
        Vfs vfs = xfs.vfs();
        SuperBlock sb = xfs.sb();
        assertEnoent(() -> vfs.stat("/new"));
        Dentry negative = cached(sb, "new");
        long dentries = sb.dcache().nrDentries();
        File f = vfs.create("/", "new");
        assertThat(f.dentry()).isSameAs(negative);
        assertThat(negative.inode()).isNotNull();
        assertThat(sb.dcache().nrDentries()).isEqualTo(dentries);
        vfs.close(f);
        File d = vfs.open("/", File.O_RDONLY);
        assertThatThrownBy(() -> vfs.create(d, "new")).isInstanceOfSatisfying(VfsException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.EEXIST));
        vfs.close(d);
        xfs.umount();
        assertThat(k.oopses()).isEmpty();
    }

    @Test
    void aNameCreatedWithoutAnEarlierLookupTakesOneDentry(Kernel k) {
        Xfs xfs = Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20));
        Vfs vfs = xfs.vfs();
        SuperBlock sb = xfs.sb();
        long dentries = sb.dcache().nrDentries();
        vfs.close(vfs.create("/", "a-name-long-enough-for-an-external-dname"));
        assertThat(sb.dcache().nrDentries()).as("the lookup's dentry is the file's").isEqualTo(dentries + 1);
        xfs.umount();
    }

    @Test
    void anUnlinkedNameStillInUseIsUnhashedAndFreedByItsLastUser(Kernel k) {
        Xfs xfs = Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20));
        Vfs vfs = xfs.vfs();
        SuperBlock sb = xfs.sb();
        File f = vfs.create("/", "open");
        long dentries = sb.dcache().nrDentries();
        vfs.unlink("/", "open");
        assertThat(cached(sb, "open")).as("unhashed: d_delete() of a dentry in use").isNull();
        assertThat(f.dentry().inode()).as("the open file keeps its inode").isNotNull();
        vfs.close(f);
        assertThat(sb.dcache().nrDentries()).isEqualTo(dentries - 1);
        xfs.umount();
    }

    @ParameterizedTest(name = "fs reclaim allowed: {0}")
    @ValueSource(booleans = {false, true})
    void theSuperblockShrinkerPrunesNegativeDentriesOnlyWithGfpFs(boolean gfpFs, Kernel k) {
        Xfs xfs = Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20));
        Vfs vfs = xfs.vfs();
        SuperBlock sb = xfs.sb();
        for (int i = 0; i < 50; i++) {
            final int n = i;
            assertEnoent(() -> vfs.stat("/absent" + n));
        }
        assertThat(sb.dcache().nrUnused()).isEqualTo(50);
        long dentries = sb.dcache().nrDentries();
        Shrinker s = sb.shrinker();
        ShrinkControl sc = new ShrinkControl(gfpFs ? Gfp.GFP_KERNEL : Gfp.GFP_NOFS);
        sc.nrToScan = 1000;
        long freed = s.scanObjects(sc);
        if (gfpFs) {
            assertThat(freed).isGreaterThanOrEqualTo(50);
            assertThat(sb.dcache().nrDentries()).isEqualTo(dentries - 50);
            assertThat(cached(sb, "absent7")).isNull();
        } else {
            assertThat(freed).isEqualTo(Shrinker.SHRINK_STOP);
            assertThat(sb.dcache().nrDentries()).isEqualTo(dentries);
            assertThat(cached(sb, "absent7").inode()).isNull();
        }
        xfs.umount();
        assertThat(k.oopses()).isEmpty();
    }

    @Test
    void rmdirFreesTheNegativeDentriesItsFilesLeftSoTheRmdirItselfEvictsTheDirectory(Kernel k) {
        Xfs xfs = Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20));
        Vfs vfs = xfs.vfs();
        SuperBlock sb = xfs.sb();
        vfs.close(vfs.mkdir("/", "d"));
        for (int i = 0; i < 3; i++) {
            vfs.close(vfs.create("/d", "f" + i));
            vfs.unlink("/d", "f" + i);
        }
        long inodes = sb.nrInodes();
        long dentries = sb.dcache().nrDentries();
        vfs.rmdir("/", "d");
        // vfs_rmdir()'s shrink_dcache_parent(): else the three negative children would pin "d", and its
        // unlinked inode would be evicted later by whoever pruned them (kswapd's shrinker, under fs_reclaim).
        assertThat(sb.nrInodes()).as("the directory's inode was evicted by rmdir").isEqualTo(inodes - 1);
        assertThat(sb.dcache().nrDentries()).as("its three negative children freed").isEqualTo(dentries - 3);
        Dentry d = cached(sb, "d");
        assertThat(d).as("d itself stays as a negative dentry").isNotNull();
        assertThat(d.inode()).isNull();
        xfs.umount();
        assertThat(k.oopses()).isEmpty();
    }
}
