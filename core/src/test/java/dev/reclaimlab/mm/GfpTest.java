package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import static dev.reclaimlab.mm.Gfp.GFP_ATOMIC;
import static dev.reclaimlab.mm.Gfp.GFP_KERNEL;
import static dev.reclaimlab.mm.Gfp.GFP_NOFS;
import static dev.reclaimlab.mm.Gfp.GFP_NOIO;
import static dev.reclaimlab.mm.Gfp.GFP_NOWAIT;
import static dev.reclaimlab.mm.Gfp.__GFP_FS;
import static dev.reclaimlab.mm.Gfp.__GFP_IO;
import static dev.reclaimlab.mm.Gfp.__GFP_NOWARN;
import static dev.reclaimlab.mm.Gfp.__GFP_ZERO;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "8m")
class GfpTest {

    @Test
    void formatPrintsCompositeNamesFirstLikePercentPGg() {
        assertThat(Gfp.format(GFP_KERNEL | __GFP_ZERO)).isEqualTo("GFP_KERNEL|__GFP_ZERO");
        assertThat(Gfp.format(GFP_NOFS)).isEqualTo("GFP_NOFS");
        assertThat(Gfp.format(GFP_NOIO | __GFP_NOWARN)).isEqualTo("GFP_NOIO|__GFP_NOWARN");
        assertThat(Gfp.format(GFP_ATOMIC)).isEqualTo("GFP_ATOMIC");
        assertThat(Gfp.format(GFP_NOWAIT)).isEqualTo("GFP_NOWAIT");
        assertThat(Gfp.format(__GFP_FS)).isEqualTo("__GFP_FS");
        assertThat(Gfp.format(0)).isEqualTo("none");
        assertThat(Gfp.format(1 << 30)).isEqualTo("0x40000000");
        assertThat(Gfp.formatMode(GFP_KERNEL)).isEqualTo("0x" + Integer.toHexString(GFP_KERNEL) + "(GFP_KERNEL)");
    }

    @Test
    void gfpKernelIsNofsPlusFsAndNofsIsNoioPlusIo() {
        assertThat(GFP_KERNEL & ~__GFP_FS).isEqualTo(GFP_NOFS);
        assertThat(GFP_NOFS & ~__GFP_IO).isEqualTo(GFP_NOIO);
        assertThat(Gfp.allowsBlocking(GFP_NOIO)).isTrue();
        assertThat(Gfp.allowsBlocking(GFP_ATOMIC)).isFalse();
    }

    @Test
    void noioScopeClearsIoAndFsAndNofsScopeClearsOnlyFs(Kernel k) {
        Task t = k.currentTask();
        assertThat(SchedMm.currentGfpContext(t, GFP_KERNEL)).isEqualTo(GFP_KERNEL);
        try (var nofs = SchedMm.nofsScope()) {
            assertThat(SchedMm.currentGfpContext(GFP_KERNEL)).isEqualTo(GFP_NOFS);
            try (var noio = SchedMm.noioScope()) {
                assertThat(SchedMm.currentGfpContext(GFP_KERNEL)).isEqualTo(GFP_NOIO);
                assertThat(SchedMm.currentGfpContext(GFP_KERNEL | __GFP_ZERO)).isEqualTo(GFP_NOIO | __GFP_ZERO);
            }
            assertThat(SchedMm.currentGfpContext(GFP_KERNEL)).isEqualTo(GFP_NOFS);
        }
        assertThat(t.flags() & (TaskFlags.PF_MEMALLOC_NOFS | TaskFlags.PF_MEMALLOC_NOIO)).isZero();
    }

    @Test
    void nestedSaveRestoreRestoresExactlyThePreviousState(Kernel k) {
        Task t = k.currentTask();
        int outer = SchedMm.memallocNofsSave();
        assertThat(outer).isZero();
        int inner = SchedMm.memallocNofsSave();
        assertThat(inner).isEqualTo(TaskFlags.PF_MEMALLOC_NOFS);
        SchedMm.memallocNofsRestore(inner);
        assertThat(t.flags() & TaskFlags.PF_MEMALLOC_NOFS).as("inner restore keeps the outer scope").isNotZero();
        SchedMm.memallocNofsRestore(outer);
        assertThat(t.flags() & TaskFlags.PF_MEMALLOC_NOFS).isZero();

        int noio = SchedMm.memallocNoioSave();
        int nofs = SchedMm.memallocNofsSave();
        SchedMm.memallocNoioRestore(noio);
        assertThat(SchedMm.currentGfpContext(GFP_KERNEL)).as("NOFS survives the NOIO restore").isEqualTo(GFP_NOFS);
        SchedMm.memallocNofsRestore(nofs);
        assertThat(SchedMm.currentGfpContext(GFP_KERNEL)).isEqualTo(GFP_KERNEL);

        assertThatThrownBy(() -> SchedMm.memallocNofsRestore(0x1234))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0x1234");
        var scope = SchedMm.nofsScope();
        scope.close();
        assertThatThrownBy(scope::close).isInstanceOf(IllegalStateException.class).hasMessageContaining("twice");
    }

    @Test
    void unknownGfpBitsAreRejectedWithTheirValue(Kernel k) {
        assertThatThrownBy(() -> k.mm().allocPages(GFP_KERNEL | (1 << 29), 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown bits 0x20000000");
        assertThatThrownBy(() -> k.mm().kmalloc(64, 1 << 29))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("kmalloc-64");
    }

    @Test
    void aBlockingAllocationFromAtomicContextIsABugEvenWhenMemoryIsPlentiful(Kernel k) {
        Task t = k.currentTask();
        t.getCpu();
        try {
            assertThatThrownBy(() -> k.mm().kmalloc(32, GFP_KERNEL))
                    .hasMessageContaining("sleeping function called from invalid context");
            assertThatThrownBy(() -> k.mm().allocPages(GFP_NOFS, 0))
                    .hasMessageContaining("GFP_NOFS");
            long ok = k.mm().kmalloc(32, GFP_ATOMIC);
            assertThat(ok).isNotZero();
            k.mm().kfree(ok);
        } finally {
            t.putCpu();
        }
    }
}
