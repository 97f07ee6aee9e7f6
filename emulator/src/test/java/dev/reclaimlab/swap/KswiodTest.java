package dev.reclaimlab.swap;

import dev.reclaimlab.fs.ext2.Ext2File;
import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.locking.Completion;
import dev.reclaimlab.locking.WaitRecord;
import dev.reclaimlab.mm.Gfp22;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** The reconstruction of Tweedie's kswiod: page writes queue to one thread, a synchronous swap-out waits there. */
@Timeout(120)
@ExtendWith(KernelExtension.class)
class KswiodTest {
    private static final int PAGE = PhysMem.PAGE_SIZE;

    /**
     * Tweedie's own IO thread (kpiod as posted) had no PF_MEMALLOC, so neither has the reconstruction unless
     * kswiod_memalloc (Andrea Arcangeli's follow-up) is on: only then do its allocations skip reclaim.
     */
    @ParameterizedTest(name = "kswiod_memalloc {0}")
    @ValueSource(booleans = {false, true})
    void kswiodRunsWithPfMemallocOnlyWithTheSwitch(boolean memalloc, Kernels kernels) {
        Fix[] fixes = memalloc ? new Fix[] {Kswiod.KSWIOD_PAGE_IO, Kswiod.KSWIOD_MEMALLOC}
                : new Fix[] {Kswiod.KSWIOD_PAGE_IO};
        Local22 w = Local22.boot(kernels, "16m", fixes);
        Task kswiod = w.mm().kswiod().task();
        assertThat(kswiod.comm()).isEqualTo("kswiod");
        assertThat((kswiod.flags() & TaskFlags.PF_MEMALLOC) != 0).isEqualTo(memalloc);
    }

    @Test
    void withKswiodStuckASwapOutBeyondThirtyTwoInFlightWaitsForItsOwnPageAtKswiod(Kernels kernels) {
        Local22 w = Local22.boot(kernels, "16m", Kswiod.KSWIOD_PAGE_IO);
        Process22 p = Process22.attach(w.mm(), w.kernel().currentTask());
        Memory22 mem = w.mm().memory();
        // A shared page over a hole first (so reclaim meets it first), then anonymous memory.
        Ext2File f = w.fs().create(null, "shared");
        assertThat(f.ftruncate(16 * PAGE)).isZero();
        Vma fv = mem.mmap(p, 16 * PAGE, f, 0, true);
        byte[] page = new byte[PAGE];
        page[0] = 42;
        mem.writeUser(p, fv.start(), page, 0, PAGE);
        Vma av = mem.mmap(p, 256 * PAGE, null, 0, false);
        for (int i = 0; i < 256; i++) {
            mem.writeUser(p, av.start() + (long) i * PAGE, page, 0, PAGE);
        }
        // A writer holds the file's i_sem, so kswiod, which takes the shared page first, stalls on it.
        Completion holding = new Completion("i_sem held");
        Completion release = new Completion("release i_sem");
        Task holder = w.kernel().kthreadRun("holder", 0, self -> {
            f.iSem().down();
            holding.complete();
            release.waitForCompletion();
            f.iSem().up();
        });
        holding.waitForCompletion();
        release.expectWaker(w.kernel().currentTask());
        Task reclaimer = w.kernel().kthreadRun("reclaimer", 0, self -> {
            while (!self.kthreadShouldStop() && !release.completionDone()) {
                w.mm().vmscan().tryToFreePages(Gfp22.GFP_KERNEL);
            }
        });
        WaitRecord.Snapshot k = Await.blocked(w.mm().kswiod().task(), Duration.ofSeconds(30));
        assertThat(k.on().name()).startsWith("i_sem of inode");
        assertThat(k.wakers().tasks()).containsExactly(holder);
        WaitRecord.Snapshot r = Await.blocked(reclaimer, Duration.ofSeconds(30));
        assertThat(r.on().name()).as("one specific swap IO").contains("swapper_inode");
        assertThat(r.wakers().tasks()).containsExactly(w.mm().kswiod().task());
        assertThat(w.mm().pageIo().forcedSync()).isPositive();
        assertThat(w.mm().pageIo().nrAsyncPages()).isGreaterThan(Vmscan22.SWAP_CLUSTER_MAX);
        assertThat(w.mm().kswiod().queueLength()).isGreaterThan(Vmscan22.SWAP_CLUSTER_MAX);
        release.complete();
        Await.until(() -> w.mm().kswiod().queueLength() == 0 && f.inode().nrBlocks() > 0,
                "kswiod drains its queue once i_sem is free", Duration.ofSeconds(30));
        w.kernel().kthreadStop(reclaimer);
    }
}
