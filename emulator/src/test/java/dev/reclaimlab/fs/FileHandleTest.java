package dev.reclaimlab.fs;

import dev.reclaimlab.fs.xfs.Xfs;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.ShrinkControl;
import dev.reclaimlab.mm.VmStatItem;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** struct file: per-open handles, their errors, and what the write side gives back on its error paths. */
@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "32m")
class FileHandleTest {
    private static int errno(Runnable r) {
        try {
            r.run();
        } catch (VfsException e) {
            return e.errno();
        }
        throw new AssertionError("expected a VfsException");
    }

    private static byte[] random(long seed, int n) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static Xfs mount(Kernel k) {
        return Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20));
    }

    @Test
    void aClosedFileGetsEbadfForEveryCallAndASecondCloseIsRefused(Kernel k) {
        Xfs xfs = mount(k);
        Vfs vfs = xfs.vfs();
        File f = vfs.create("/", "f");
        vfs.write(f, 0, new byte[] {1, 2, 3});
        Inode inode = f.inode();
        vfs.close(f);
        assertThat(f.isClosed()).isTrue();
        int count = inode.iCount();
        assertThat(errno(() -> vfs.read(f, 0, 3))).isEqualTo(Errno.EBADF);
        assertThat(errno(() -> vfs.read(f, 0, new byte[3], 0, 3))).isEqualTo(Errno.EBADF);
        assertThat(errno(() -> vfs.read(f, 3))).isEqualTo(Errno.EBADF);
        assertThat(errno(() -> vfs.write(f, 0, new byte[1]))).isEqualTo(Errno.EBADF);
        assertThat(errno(() -> vfs.write(f, new byte[1]))).isEqualTo(Errno.EBADF);
        assertThat(errno(() -> vfs.fsync(f))).isEqualTo(Errno.EBADF);
        assertThat(errno(() -> vfs.lseek(f, 0, Vfs.SEEK_SET))).isEqualTo(Errno.EBADF);
        assertThat(errno(() -> vfs.create(f, "x"))).isEqualTo(Errno.EBADF);
        assertThat(errno(f::inode)).isEqualTo(Errno.EBADF);
        assertThat(errno(() -> vfs.close(f))).as("double close").isEqualTo(Errno.EBADF);
        assertThat(inode.iCount()).as("a refused close drops nothing").isEqualTo(count);
        xfs.umount();
    }

    @Test
    void noFileOrAFileOfAnotherMountIsABadDescriptor(Kernel k) {
        Xfs a = mount(k);
        Xfs b = Xfs.mount(k, new MemBlockDevice(k, "ram1", 8 << 20));
        File fb = b.vfs().create("/", "f");
        assertThat(errno(() -> a.vfs().read(fb, 0, 1))).isEqualTo(Errno.EBADF);
        assertThat(errno(() -> a.vfs().close(fb))).isEqualTo(Errno.EBADF);
        assertThat(errno(() -> a.vfs().read(null, 0, 1))).isEqualTo(Errno.EBADF);
        assertThat(errno(() -> a.vfs().close(null))).isEqualTo(Errno.EBADF);
        b.vfs().close(fb);
        a.umount();
        b.umount();
    }

    @Test
    void accessModesPositionsAndBuffersAreChecked(Kernel k) {
        Xfs xfs = mount(k);
        Vfs vfs = xfs.vfs();
        vfs.close(vfs.create("/", "f"));
        vfs.close(vfs.mkdir("/", "d"));
        File ro = vfs.open("/f", File.O_RDONLY);
        File wo = vfs.open("/f", File.O_WRONLY);
        assertThat(errno(() -> vfs.write(ro, 0, new byte[1]))).isEqualTo(Errno.EBADF);
        assertThat(errno(() -> vfs.read(wo, 0, 1))).isEqualTo(Errno.EBADF);
        assertThat(errno(() -> vfs.open("/d", File.O_RDWR))).isEqualTo(Errno.EISDIR);
        assertThat(errno(() -> vfs.open("/f", 3))).isEqualTo(Errno.EINVAL);
        assertThat(errno(() -> vfs.open("/f", 0100))).isEqualTo(Errno.EINVAL);
        assertThat(errno(() -> vfs.write(wo, -1, new byte[1]))).isEqualTo(Errno.EINVAL);
        assertThat(errno(() -> vfs.read(ro, -1, 1))).isEqualTo(Errno.EINVAL);
        assertThat(errno(() -> vfs.read(ro, 0, -1))).isEqualTo(Errno.EINVAL);
        assertThat(errno(() -> vfs.read(ro, Long.MAX_VALUE, 2))).as("end overflows").isEqualTo(Errno.EINVAL);
        assertThat(errno(() -> vfs.write(wo, 0, null))).isEqualTo(Errno.EFAULT);
        assertThat(errno(() -> vfs.read(ro, 0, new byte[4], 2, 3))).isEqualTo(Errno.EFAULT);
        assertThat(errno(() -> vfs.read(ro, 0, null, 0, 0))).isEqualTo(Errno.EFAULT);
        File d = vfs.open("/d");
        assertThat(errno(() -> vfs.read(d, 0, 1))).isEqualTo(Errno.EISDIR);
        assertThat(errno(() -> vfs.write(d, 0, new byte[1]))).isEqualTo(Errno.EBADF);
        assertThat(vfs.write(wo, "hello".getBytes())).isEqualTo(5);
        assertThat(vfs.write(wo, " world".getBytes())).isEqualTo(6);
        assertThat(new String(vfs.read(ro, 5))).isEqualTo("hello");
        assertThat(new String(vfs.read(ro, 100))).isEqualTo(" world");
        assertThat(vfs.read(ro, 100)).isEmpty();
        assertThat(vfs.lseek(ro, -5, Vfs.SEEK_END)).isEqualTo(6);
        assertThat(new String(vfs.read(ro, 5))).isEqualTo("world");
        assertThat(errno(() -> vfs.lseek(ro, -100, Vfs.SEEK_CUR))).isEqualTo(Errno.EINVAL);
        assertThat(errno(() -> vfs.lseek(ro, Long.MAX_VALUE, Vfs.SEEK_END))).as("overflow").isEqualTo(Errno.EINVAL);
        assertThat(errno(() -> vfs.lseek(ro, 0, 7))).isEqualTo(Errno.EINVAL);
        vfs.close(ro);
        vfs.close(wo);
        vfs.close(d);
        xfs.umount();
    }

    @Test
    void nothingIsServedAfterUnlinkAndCloseAndTheBlocksComeBack(Kernel k) {
        Xfs xfs = mount(k);
        Vfs vfs = xfs.vfs();
        File f = vfs.create("/", "tmp");
        vfs.write(f, 0, random(1, 8192));
        vfs.fsync(f);
        File g = vfs.open("/tmp");
        vfs.unlink("/", "tmp");
        vfs.close(f);
        assertThat(vfs.read(g, 0, 8192)).as("the other open still reads").isEqualTo(random(1, 8192));
        long ino = g.inode().ino();
        vfs.close(g);
        assertThat(errno(() -> vfs.read(g, 0, 1))).isEqualTo(Errno.EBADF);
        assertThat(errno(() -> vfs.read(f, 0, 1))).isEqualTo(Errno.EBADF);
        assertThat(errno(() -> vfs.open("/tmp"))).isEqualTo(Errno.ENOENT);
        assertThat(xfs.freeBlocks()).isEqualTo(xfs.dblocks());
        assertThat(xfs.peekInode(ino).iCount()).isZero();
        xfs.umount();
    }

    @Test
    void aCloseWhileAReadIsInFlightReleasesTheFileWhenTheReadEnds(Kernel k) throws Exception {
        MemBlockDevice dev = new MemBlockDevice(k, "ram0", 8 << 20);
        Xfs xfs = Xfs.mount(k, dev);
        Vfs vfs = xfs.vfs();
        File f = vfs.create("/", "f");
        vfs.write(f, 0, random(2, 4096));
        vfs.fsync(f);
        vfs.close(f);
        dropCaches(xfs.sb());
        File g = vfs.open("/f");
        Inode inode = g.inode();
        dev.closeGate();
        AtomicReference<byte[]> got = new AtomicReference<>();
        Task reader = k.kthreadRun("reader", self -> got.set(vfs.read(g, 0, 4096)));
        Await.until(() -> dev.inFlight.get() > 0, "the read to reach the device", Duration.ofSeconds(10));
        vfs.close(g);
        assertThat(errno(() -> vfs.read(g, 0, 1))).isEqualTo(Errno.EBADF);
        assertThat(xfs.sb().dcache().nrUnused()).as("the read in flight still holds the file's dentry").isZero();
        assertThat(inode.iCount()).isEqualTo(1);
        dev.openGate();
        reader.thread().join(10_000);
        assertThat(got.get()).isEqualTo(random(2, 4096));
        assertThat(xfs.sb().dcache().nrUnused()).as("the last put released it to the LRU").isEqualTo(1);
        xfs.umount();
    }

    @Test
    void createInAnOpenDirectoryWorksWhateverTheDcachePruned(Kernel k) {
        Xfs xfs = mount(k);
        Vfs vfs = xfs.vfs();
        File dir = vfs.mkdir("/", "d");
        File sub = vfs.mkdir("/d", "sub");
        vfs.close(sub);
        dropCaches(xfs.sb());
        File x = vfs.create(dir, "x");
        vfs.write(x, 0, new byte[] {7});
        vfs.close(x);
        assertThat(vfs.readdir("/d")).containsExactly("sub", "x");
        vfs.unlink("/d", "x");
        vfs.rmdir("/d", "sub");
        vfs.rmdir("/", "d");
        assertThat(errno(() -> vfs.create(dir, "y"))).as("IS_DEADDIR").isEqualTo(Errno.ENOENT);
        File plain = vfs.create("/", "plain");
        assertThat(errno(() -> vfs.create(plain, "z"))).isEqualTo(Errno.ENOTDIR);
        vfs.close(plain);
        vfs.close(dir);
        xfs.umount();
    }

    @Test
    void writesAtOrBeyondTheMaximumFileSizeGetEfbigBeforeAnythingIsDirtied(Kernel k) {
        Xfs xfs = mount(k);
        Vfs vfs = xfs.vfs();
        File f = vfs.create("/", "f");
        long dirty = k.mm().vmstat().get(VmStatItem.NR_DIRTIED);
        assertThat(xfs.sb().maxBytes()).isEqualTo(Long.MAX_VALUE);
        assertThat(errno(() -> vfs.write(f, Long.MAX_VALUE, new byte[1]))).as("rw_verify_area: pos + count overflows")
                .isEqualTo(Errno.EINVAL);
        xfs.sb().setMaxBytes(64 << 10);
        assertThat(errno(() -> vfs.write(f, 64 << 10, new byte[1]))).isEqualTo(Errno.EFBIG);
        assertThat(errno(() -> vfs.write(f, 1L << 40, new byte[4096]))).isEqualTo(Errno.EFBIG);
        assertThat(k.mm().vmstat().get(VmStatItem.NR_DIRTIED)).isEqualTo(dirty);
        assertThat(f.inode().mapping().nrpages()).isZero();
        assertThat(f.inode().iSize()).isZero();
        assertThat(vfs.write(f, (64 << 10) - 100, new byte[4096])).as("cut at s_maxbytes").isEqualTo(100);
        assertThat(f.inode().iSize()).isEqualTo(64 << 10);
        vfs.fsync(f);
        vfs.close(f);
        xfs.umount();
    }

    @Test
    void oneWriteAtAHugeSparseOffsetCostsOneExtentAndReadsAllocateWhatTheFileHolds(Kernel k) {
        Xfs xfs = mount(k);
        Vfs vfs = xfs.vfs();
        File f = vfs.create("/", "sparse");
        long far = Long.MAX_VALUE - 4096;
        assertThat(vfs.write(f, 1L << 40, random(3, 4096))).isEqualTo(4096);
        assertThat(errno(() -> vfs.write(f, far, random(4, 8192)))).as("the end overflows").isEqualTo(Errno.EINVAL);
        assertThat(vfs.write(f, far, random(4, 4096))).as("up to the last byte a file can have").isEqualTo(4096);
        vfs.fsync(f);
        assertThat(f.inode().iSize()).isEqualTo(Long.MAX_VALUE);
        vfs.close(f);
        dropCaches(xfs.sb());
        assertThat(xfs.dblocks() - xfs.freeBlocks()).isEqualTo(3);
        File g = vfs.open("/sparse");
        assertThat(vfs.read(g, 1L << 40, 4096)).isEqualTo(random(3, 4096));
        assertThat(vfs.read(g, far, 10)).isEqualTo(java.util.Arrays.copyOf(random(4, 4096), 10));
        assertThat(vfs.read(g, 0, Integer.MAX_VALUE)).as("a short read, not 2 GiB").hasSize(Vfs.MAX_READ_ALLOC)
                .containsOnly((byte) 0);
        File small = vfs.create("/", "small");
        vfs.write(small, 0, new byte[] {1, 2, 3});
        assertThat(vfs.read(small, 0, Integer.MAX_VALUE)).containsExactly(1, 2, 3);
        assertThat(vfs.read(small, Long.MAX_VALUE - Integer.MAX_VALUE, Integer.MAX_VALUE)).isEmpty();
        vfs.close(small);
        vfs.unlink("/", "sparse");
        vfs.close(g);
        vfs.unlink("/", "small");
        assertThat(xfs.freeBlocks()).isEqualTo(xfs.dblocks());
        xfs.umount();
    }

    @Test
    void enospcOnWritebackReachesFsyncAndLeavesNoLockOrBlockBehind(Kernel k) {
        Xfs xfs = Xfs.mount(k, new MemBlockDevice(k, "ram0", 2 << 20));
        Vfs vfs = xfs.vfs();
        File f = vfs.create("/", "big");
        int blocks = (int) xfs.freeBlocks();
        vfs.write(f, 0, new byte[(blocks + 8) * 4096]);
        assertThat(errno(() -> vfs.fsync(f))).isEqualTo(Errno.ENOSPC);
        assertThat(xfs.freeBlocks()).isZero();
        assertThat(f.inode().iLockOwner()).isNull();
        assertThat(((dev.reclaimlab.fs.xfs.XfsInode) f.inode()).ilock().writer()).isNull();
        assertThat(vfs.write(f, 0, new byte[] {1})).as("no lock or page left held").isEqualTo(1);
        vfs.close(f);
        vfs.unlink("/", "big");
        assertThat(xfs.freeBlocks()).isEqualTo(xfs.dblocks());
        xfs.umount();
        assertThat(k.oopses()).isEmpty();
    }

    @Test
    void theFileOperationsRefuseAnInodeNobodyHoldsAndBadArguments(Kernel k) {
        Xfs xfs = mount(k);
        Vfs vfs = xfs.vfs();
        File f = vfs.create("/", "f");
        Inode inode = f.inode();
        FileOperations fops = xfs.sb().fileOps();
        assertThat(fops.readIter(inode, f.ra(), -1, IovIter.ofArray(new byte[1], 0), 1)).isEqualTo(-Errno.EINVAL);
        assertThat(fops.writeIter(inode, 0, IovIter.ofArray(new byte[1], 0), -1)).isEqualTo(-Errno.EINVAL);
        assertThatThrownBy(() -> fops.readIter(inode, f.ra(), 0, null, 1)).hasMessageContaining("null iov_iter");
        assertThatThrownBy(() -> fops.fsync(xfs.sb().root().inode())).isInstanceOf(VfsException.class)
                .hasMessageContaining("EISDIR");
        Xfs other = Xfs.mount(k, new MemBlockDevice(k, "ram1", 8 << 20));
        assertThatThrownBy(() -> other.sb().fileOps().fsync(inode)).hasMessageContaining("is not an inode of");
        vfs.close(f);
        dropCaches(xfs.sb());
        assertThatThrownBy(() -> fops.readIter(inode, f.ra(), 0, IovIter.ofArray(new byte[1], 0), 1))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("nobody holds the inode");
        xfs.umount();
        other.umount();
    }

    static void dropCaches(SuperBlock sb) {
        ShrinkControl sc = new ShrinkControl(Gfp.GFP_KERNEL);
        sc.nrToScan = Long.MAX_VALUE / 4;
        for (int i = 0; i < 4; i++) {
            sb.shrinker().scanObjects(sc);
        }
    }
}
