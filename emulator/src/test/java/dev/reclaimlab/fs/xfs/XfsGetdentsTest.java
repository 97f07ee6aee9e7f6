package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.fs.Dirents;
import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.MemBlockDevice;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.fs.VfsException;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.PageAlloc;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.mm.ReclaimHooks;
import dev.reclaimlab.mm.UserBuffer;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** 3.14's getdents64() on XFS: iterate_dir() under the directory's i_mutex, filldir64() into user memory. */
@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "32m", version = "3.14", kswapd = false)
class XfsGetdentsTest {
    private static Xfs mount(Kernel k) {
        return Xfs.mount(k, new MemBlockDevice(k, "ram0", 16 << 20));
    }

    private static String name(int i) {
        return "f" + i + "-".repeat(i % 50);
    }

    @Test
    void everyEntryComesOnceWithItsInodeNumberAcrossCallsAndChangesBetweenThem(Kernel k) {
        Xfs xfs = mount(k);
        Vfs vfs = xfs.vfs();
        vfs.close(vfs.mkdir("/", "d"));
        Map<String, Long> inos = new HashMap<>();
        for (int i = 0; i < 120; i++) {
            File f = vfs.create("/d", name(i));
            inos.put(name(i), f.inode().ino());
            vfs.close(f);
        }
        File dir = vfs.open("/d");
        List<String> listed = new ArrayList<>();
        long lastOff = 0;
        int calls = 0;
        try (UserBuffer buf = new UserBuffer(k.mm(), 2 * PhysMem.PAGE_SIZE)) {
            for (int got; (got = vfs.getdents64(dir, buf, 100, 600)) > 0; calls++) {
                assertThat(got).isLessThanOrEqualTo(600);
                for (Dirents.Dirent d : Dirents.parse(buf, 100, got)) {
                    assertThat(d.ino()).as(d.name()).isEqualTo(inos.get(d.name()));
                    assertThat(d.off()).as("d_off is the position after the record").isEqualTo(lastOff + 1);
                    lastOff = d.off();
                    listed.add(d.name());
                }
                if (calls == 1) {
                    // Between two calls: a name before the cursor, one after it, and one not yet listed removed.
                    TreeSet<String> left = new TreeSet<>(inos.keySet());
                    left.removeAll(listed);
                    String gone = left.last();
                    vfs.unlink("/d", gone);
                    inos.remove(gone);
                    for (String n : List.of("a-new", "zz-new")) {
                        File f = vfs.create("/d", n);
                        inos.put(n, f.inode().ino());
                        vfs.close(f);
                    }
                }
            }
            assertThat(vfs.getdents64(dir, buf, 0, 600)).as("the end stays the end").isZero();
        } finally {
            vfs.close(dir);
        }
        assertThat(calls).as("600 bytes hold a few dozen records").isGreaterThan(4);
        TreeSet<String> want = new TreeSet<>(inos.keySet());
        want.remove("a-new");
        assertThat(listed).as("in name order, each once, the removed one not, the one behind the cursor not")
                .doesNotHaveDuplicates().isSorted().containsExactlyElementsOf(want);
    }

    @Test
    void aRecordThatCannotFitIsEinvalARegularFileEnotdirAndARangeOutsideTheBufferEfault(Kernel k) {
        Xfs xfs = mount(k);
        Vfs vfs = xfs.vfs();
        vfs.close(vfs.mkdir("/", "d"));
        vfs.close(vfs.create("/d", "a-rather-long-name-of-forty-characters-x"));
        File dir = vfs.open("/d");
        File reg = vfs.open("/d/a-rather-long-name-of-forty-characters-x");
        try (UserBuffer buf = new UserBuffer(k.mm(), PhysMem.PAGE_SIZE)) {
            assertThatThrownBy(() -> vfs.getdents64(dir, buf, 0, 56)).isInstanceOfSatisfying(VfsException.class,
                    e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL));
            assertThat(vfs.getdents64(dir, buf, 0, 64)).as("19 + 40 + 1 rounded up to 8").isEqualTo(64);
            assertThatThrownBy(() -> vfs.getdents64(reg, buf, 0, 64)).isInstanceOfSatisfying(VfsException.class,
                    e -> assertThat(e.errno()).isEqualTo(Errno.ENOTDIR));
            assertThatThrownBy(() -> vfs.getdents64(dir, buf, 4000, 200)).isInstanceOfSatisfying(VfsException.class,
                    e -> assertThat(e.errno()).isEqualTo(Errno.EFAULT));
            assertThatThrownBy(() -> vfs.getdents64(dir, null, 0, 64)).isInstanceOfSatisfying(VfsException.class,
                    e -> assertThat(e.errno()).isEqualTo(Errno.EFAULT));
        } finally {
            vfs.close(reg);
            vfs.close(dir);
        }
        try (UserBuffer buf = new UserBuffer(k.mm(), PhysMem.PAGE_SIZE)) {
            assertThatThrownBy(() -> vfs.getdents64(dir, buf, 0, 64)).isInstanceOfSatisfying(VfsException.class,
                    e -> assertThat(e.errno()).isEqualTo(Errno.EBADF));
        }
    }

    /**
     * The seeds' shape without NFS: at min, the listing's first write to a fresh page of the buffer reclaims,
     * and reclaim runs in the lister holding the directory's i_mutex, with __GFP_FS.
     */
    @Test
    void theBufferFaultsInUnderTheDirectorysIMutexAndReclaimsWithGfpFs(Kernel k) {
        Xfs xfs = mount(k);
        Vfs vfs = xfs.vfs();
        vfs.close(vfs.mkdir("/", "d"));
        for (int i = 0; i < 200; i++) {
            vfs.close(vfs.create("/d", name(i)));
        }
        XfsInode dp = (XfsInode) vfs.open("/d").inode();
        File dir = vfs.open("/d");
        PageAlloc pa = k.mm().pageAlloc();
        List<Integer> held = new ArrayList<>();
        for (int p; (p = pa.allocPages(Gfp.GFP_NOWAIT, 0)) != PageAlloc.NULL_PAGE; ) {
            held.add(p);
        }
        Deque<Integer> parked = new ArrayDeque<>(held.subList(0, 64));
        List<String> seen = new ArrayList<>();
        pa.setReclaimHooks(new ReclaimHooks() {
            @Override
            public void wakeupKswapd(int order, int gfp) {
            }

            @Override
            public long tryToFreePages(int gfp, int order) {
                seen.add((dp.iLockOwner() == Task.current() ? "under i_mutex" : "without i_mutex")
                        + ((gfp & Gfp.__GFP_FS) != 0 ? ", __GFP_FS" : ", NOFS"));
                long n = 0;
                for (int i = 0; i < 8 && !parked.isEmpty(); i++, n++) {
                    pa.freePages(parked.pop(), 0);
                }
                pa.drainAllPages();
                return n;
            }
        });
        int got;
        try (UserBuffer buf = new UserBuffer(k.mm(), 32 << 10)) {
            got = vfs.getdents64(dir, buf, 0, 32 << 10);
            assertThat(buf.faults()).as("a page for each 4 KiB of records").isEqualTo((got + 4095) / 4096);
        } finally {
            vfs.close(dir);
        }
        assertThat(got).isGreaterThan(2 * 4096);
        assertThat(seen).as("each fault reclaimed, inside iterate_dir()").isNotEmpty()
                .containsOnly("under i_mutex, __GFP_FS");
        held.subList(64, held.size()).forEach(p -> pa.freePages(p, 0));
    }
}
