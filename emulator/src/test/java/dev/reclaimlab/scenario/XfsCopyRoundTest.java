package dev.reclaimlab.scenario;

import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.xfs.XfsInode;
import dev.reclaimlab.fs.xfs.XfsMountOptions;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.mm.AddressSpace;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/** The state an xfs/073 round leaves the copy in, and what its first comparison read does (Linux 4.3-rc3). */
@Timeout(60)
@ExtendWith(KernelExtension.class)
class XfsCopyRoundTest {
    private record Insert(int gfp, String work) {
    }

    @Test
    @Boot(memory = "128m")
    void afterTheRoundCopyImgHoldsNoPageOrNodeAndTheFirstCompareReadPreloadsNodesWithGfpKernelInKloopd2(
            Kernels kernels) {
        Kernel k = kernels.boot(b -> new XfsOnLoop().variant("linux-4.3-rc3").configure(b));
        XfsMountOptions opts = new XfsMountOptions(XfsOnLoop.UPPER_LOG_SECTORS, XfsOnLoop.UPPER_LOGBUFS,
                XfsOnLoop.UPPER_LOGBSIZE, true);
        XfsLoopStack stack = XfsLoopStack.build(k, 256L << 20, 64L << 20, opts);
        XfsCopyImage img = XfsCopyImage.create(k, stack.lower(), 32L << 20, opts);
        byte[] data = new byte[1 << 20];
        new SplittableRandom(73).nextBytes(data);
        File w = img.fs().vfs().create("/", "f");
        img.fs().vfs().write(w, 0, data);
        img.fs().vfs().close(w);
        AddressSpace lower = img.backing().inode().mapping();

        assertThat(img.makeCold()).as("no page of copy.img left").isZero();
        assertThat(lower.nrpages()).isZero();
        assertThat(lower.nrshadows()).as("no shadow entries").isZero();
        assertThat(lower.nrTreeNodes()).as("and so no tree node").isZero();
        assertThat(img.fs().nrInCoreInodes()).as("as after a mount: the root alone in core").isEqualTo(1);

        List<Insert> inserts = new CopyOnWriteArrayList<>();
        k.mm().filemap().setAddToPageCacheTrace((m, index, gfp) -> {
            if (m == lower) {
                inserts.add(new Insert(gfp, Task.current().currentWork()));
            }
        });
        File r = img.fs().vfs().open("/f");
        assertThat(img.fs().vfs().read(r, 0, data.length)).isEqualTo(data);
        k.mm().filemap().setAddToPageCacheTrace(null);
        assertThat(inserts).as("copy.img filled by the loop read work's mpage_readpages()").isNotEmpty()
                .allSatisfy(i -> {
                    assertThat(i.gfp()).isEqualTo(Gfp.GFP_KERNEL);
                    assertThat(i.work()).isEqualTo("kloopd2 loop_queue_read_work");
                });
        assertThat(lower.nrTreeNodes()).as("every node of the tree came from those inserts' preloads").isPositive();
        assertThat(((XfsInode) r.inode()).pincount()).as("relatime: the first read pins it in the copy's CIL")
                .isPositive();
        img.fs().vfs().close(r);
        img.remove();
        assertThat(stack.lower().vfs().readdir("/")).doesNotContain(XfsCopyImage.IMAGE);
    }
}
