package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.fs.MemBlockDevice;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.ShrinkControl;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Directory blocks in the xfs_buf cache: read once, aged out by the buftarg shrinker, rewritten by changes. */
@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "32m", kswapd = false)
class XfsBufTest {
    private static long shrink(Xfs xfs) {
        ShrinkControl sc = new ShrinkControl(Gfp.GFP_NOFS);
        sc.nrToScan = 1024;
        return xfs.bufShrinker().scanObjects(sc);
    }

    private static Xfs dirWith(Kernel k, int files) {
        Xfs xfs = Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20));
        xfs.vfs().close(xfs.vfs().mkdir("/", "d"));
        for (int i = 0; i < files; i++) {
            xfs.vfs().close(xfs.vfs().create("/d", "f" + i));
        }
        while (xfs.nrCachedBufs() > 0) {
            shrink(xfs);
        }
        return xfs;
    }

    @Test
    void readdirReadsTheBlockOnceAndTheShrinkerFreesItAfterItsLruReferencesWithoutAnyFsGfp(Kernel k) {
        Xfs xfs = dirWith(k, 3);
        long allocated = xfs.bufsAllocated();
        assertThat(xfs.vfs().readdir("/d")).containsExactly("f0", "f1", "f2");
        assertThat(xfs.bufsAllocated()).isEqualTo(allocated + 1);
        assertThat(xfs.vfs().readdir("/d")).hasSize(3);
        assertThat(xfs.bufsAllocated()).as("the second readdir hits the cache").isEqualTo(allocated + 1);
        long freed = xfs.bufsFreed();
        for (int pass = 0; pass < XfsBuf.XFS_DIR_BTREE_REF; pass++) {
            assertThat(shrink(xfs)).as("pass %d only ages it", pass).isZero();
        }
        assertThat(shrink(xfs)).as("b_lru_ref at zero: freed, even under GFP_NOFS").isEqualTo(1);
        assertThat(xfs.bufsFreed()).isEqualTo(freed + 1);
        assertThat(xfs.vfs().readdir("/d")).hasSize(3);
        assertThat(xfs.bufsAllocated()).as("read anew").isEqualTo(allocated + 2);
        xfs.umount();
        assertThat(xfs.bufsFreed()).as("umount frees the cache").isEqualTo(xfs.bufsAllocated());
    }

    @Test
    void aDirectoryLargerThanABlockSpansBlocksAndLookupAndReaddirReadThemFromTheBuffers(Kernel k) {
        Xfs xfs = dirWith(k, 0);
        Vfs vfs = xfs.vfs();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            String n = String.format("a-rather-long-file-name-%04d", i);
            names.add(n);
            vfs.close(vfs.create("/d", n));
        }
        dev.reclaimlab.fs.File dir = vfs.open("/d");
        XfsInode dp = (XfsInode) dir.inode();
        assertThat(XfsDir2Data.nblocks(dp.dinode().entries)).isGreaterThanOrEqualTo(2);
        while (xfs.nrCachedBufs() > 0) {
            shrink(xfs);
        }
        long allocated = xfs.bufsAllocated();
        assertThat(vfs.readdir("/d")).containsExactlyElementsOf(names);
        assertThat(xfs.bufsAllocated() - allocated).isEqualTo(XfsDir2Data.nblocks(dp.dinode().entries));
        dev.reclaimlab.fs.Inode last = xfs.sb().dirOps().lookup(dp, names.get(299));
        assertThat(last).isNotNull();
        xfs.sb().iput(last);
        assertThat(xfs.sb().dirOps().lookup(dp, "absent")).isNull();
        vfs.close(dir);
        xfs.umount();
    }

    @Test
    void createAndUnlinkRewriteTheCachedBlockInTheirTransaction(Kernel k) {
        Xfs xfs = dirWith(k, 2);
        Vfs vfs = xfs.vfs();
        assertThat(vfs.readdir("/d")).containsExactly("f0", "f1");
        long allocated = xfs.bufsAllocated();
        vfs.close(vfs.create("/d", "new"));
        vfs.unlink("/d", "f0");
        assertThat(vfs.readdir("/d")).containsExactly("f1", "new");
        assertThat(xfs.bufsAllocated()).as("the cached block was rewritten, not read again").isEqualTo(allocated);
        xfs.umount();
    }

    @Test
    void aStaleBufferHeldByAReaderIsFreedAtItsLastRelease(Kernel k) {
        Xfs xfs = dirWith(k, 1);
        XfsBuf.Cache c = xfs.bufCache();
        long key = XfsDir2Data.key(999, 0);
        XfsBuf bp = c.xfsBufRead(key, addr -> k.mm().mem().putInt(addr, 7));
        long freed = xfs.bufsFreed();
        c.xfsBufStale(bp);
        assertThat(xfs.bufsFreed()).as("still held").isEqualTo(freed);
        assertThat(c.xfsBufFind(key)).as("out of the cache").isNull();
        c.xfsBufRelse(bp);
        assertThat(xfs.bufsFreed()).isEqualTo(freed + 1);
        assertThatThrownBy(() -> c.xfsBufRelse(bp)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("not held");
        xfs.umount();
    }

    @ParameterizedTest(name = "xfs_buf_gfp_kernel={0}")
    @ValueSource(booleans = {false, true})
    void bufferMemoryIsGfpNofsIn53AndGfpKernelWithTheProposal(boolean gfpKernel, Kernels kernels) {
        Kernel k = kernels.boot(b -> b.with(XfsBuf.XFS_BUF_GFP_KERNEL, gfpKernel));
        Xfs xfs = Xfs.mount(k, new MemBlockDevice(k, "ram0", 8 << 20));
        assertThat(xfs.bufGfp()).isEqualTo(gfpKernel ? Gfp.GFP_KERNEL : Gfp.GFP_NOFS);
        xfs.umount();
        Kernel n = kernels.boot(b -> b.with(XfsBuf.XFS_BUF_GFP_KERNEL, gfpKernel).with(XfsBuf.XFS_BUF_NOLOCKDEP));
        Xfs quiet = Xfs.mount(n, new MemBlockDevice(n, "ram1", 8 << 20));
        assertThat(quiet.bufGfp() & Gfp.__GFP_NOLOCKDEP).isEqualTo(Gfp.__GFP_NOLOCKDEP);
        quiet.umount();
    }
}
