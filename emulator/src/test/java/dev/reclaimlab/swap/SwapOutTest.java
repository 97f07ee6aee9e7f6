package dev.reclaimlab.swap;

import dev.reclaimlab.fs.ext2.Ext2File;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Completion;
import dev.reclaimlab.locking.WaitQueue;
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
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** 2.2.1's swap_out(): anonymous pages to the swap area, shared file pages back to their file. */
@Timeout(120)
@ExtendWith(KernelExtension.class)
class SwapOutTest {
    private static final int PAGE = PhysMem.PAGE_SIZE;

    private static byte[] page(long seed, int i) {
        byte[] b = new byte[PAGE];
        new SplittableRandom(seed * 7919 + i).nextBytes(b);
        return b;
    }

    /**
     * 2.2.1 OOM-kills a process whose GFP_USER fault finds try_to_free_pages() "freed" nothing, which happens
     * when the swap device falls behind (a loaded machine slows its worker): a real 2.2 outcome, not a data
     * error. So the program gets eight tries on fresh kernels (a try takes about 0.2 s; three were all killed
     * once in CI); every try that is not killed must round-trip every byte, and one must not be killed.
     */
    @Test
    void anonymousMemoryLargerThanTheMachineGoesToSwapAndComesBackByteExact(Kernels kernels) {
        int killed = 0;
        while (!anonymousRoundTrip(kernels)) {
            killed++;
            assertThat(killed).as("OOM-killed in every try").isLessThan(8);
        }
    }

    /** False if the kernel OOM-killed the program; fails the test on any wrong byte. */
    private static boolean anonymousRoundTrip(Kernels kernels) {
        Local22 w = Local22.boot(kernels, "16m");
        // A machine that has been up a while: a clean page cache (a file read once) that reclaim can take first.
        Ext2File cached = w.fs().create(null, "cached");
        byte[] chunk = new byte[64 << 10];
        for (int i = 0; i < 128; i++) {
            cached.write(chunk, 0, chunk.length, (long) i * chunk.length);
        }
        w.mm().buffers().syncBuffers(w.disk());
        w.mm().buffers().dropBuffers(w.disk());
        for (int i = 0; i < 128; i++) {
            cached.read(chunk, 0, chunk.length, (long) i * chunk.length);
        }
        cached.close();
        Process22 p = Process22.attach(w.mm(), w.kernel().currentTask());
        Memory22 mem = w.mm().memory();
        int pages = 24 << 8;
        Vma v = mem.mmap(p, (long) pages * PAGE, null, 0, false);
        // A program that computes a little every 64 pages. On a 1999 uniprocessor kswapd runs meanwhile; a
        // loaded host may not give kswapd's thread the CPU within a fixed 2 ms, and the program's own reclaim
        // then runs the free lists dry behind its queued swap writes, which 2.2.1 answers with the OOM kill
        // (seen: every try killed at load 13-18). So the pause lasts until kswapd has taken free memory back
        // to freepages.high (low_on_memory clear), in 2 ms naps, at most 100 ms.
        WaitQueue nap = new WaitQueue("nanosleep");
        try {
            for (int i = 0; i < pages; i++) {
                mem.writeUser(p, v.start() + (long) i * PAGE, page(1, i), 0, PAGE);
                if (i % 64 == 63) {
                    for (int n = 0; n == 0 || (n < 50 && w.kernel().mm().pageAlloc().lowOnMemory()); n++) {
                        nap.waitEventInterruptibleTimeout(() -> false, 2_000_000);
                    }
                }
            }
            byte[] got = new byte[PAGE];
            for (int i = 0; i < pages; i++) {
                mem.readUser(p, v.start() + (long) i * PAGE, got, 0, PAGE);
                assertThat(got).as("page %d", i).isEqualTo(page(1, i));
            }
        } catch (UserFault f) {
            assertThat(f.signal()).as(f.getMessage()).isEqualTo("SIGKILL");
            assertThat(f.getMessage()).contains("out of memory");
            p.exit();
            return false;
        }
        assertThat(w.mm().pageIo().pswpout()).as("24 MiB of a 16 MiB machine went to swap").isPositive();
        assertThat(w.mm().pageIo().pswpin()).isPositive();
        assertThat(p.nswap()).isPositive();
        p.exit();
        // The process's entries are gone; what is left belongs to the swap cache, which shrink_mmap() frees lazily.
        assertThat(w.mm().swap().nrSwapPages() + w.mm().swap().swapCachePages())
                .isEqualTo(w.swap().nrBlocks() - 1);
        return true;
    }

    /** A process with one shared page over a hole, dirtied, then reclaim until filemap_swapout() wrote it. */
    private static Ext2File dirtySharedHolePage(Local22 w, Process22 p, long seed) {
        Ext2File f = w.fs().create(null, "shared");
        assertThat(f.ftruncate(16 * PAGE)).isZero();
        Vma v = w.mm().memory().mmap(p, 16 * PAGE, f, 0, true);
        w.mm().memory().writeUser(p, v.start() + 5L * PAGE, page(seed, 5), 0, PAGE);
        assertThat(f.inode().nrBlocks()).as("a page over a hole has no block yet").isZero();
        return f;
    }

    @Test
    void aSharedPageOverAHoleIsWrittenByFilemapSwapoutInTheReclaimingTaskWhichAllocatesItsBlocks(Kernels kernels) {
        Local22 w = Local22.boot(kernels, "16m");
        Process22 p = Process22.attach(w.mm(), w.kernel().currentTask());
        Ext2File f = dirtySharedHolePage(w, p, 3);
        for (int i = 0; i < 20 && f.inode().nrBlocks() == 0; i++) {
            w.mm().vmscan().tryToFreePages(Gfp22.GFP_KERNEL);
        }
        // 2.2.1: the write ran here, in the task that reclaimed: ext2_new_block() under lock_super.
        assertThat(f.inode().nrBlocks()).isEqualTo(PAGE / 1024);
        assertThat(w.mm().vmscan().filemapSwapouts()).isPositive();
        byte[] got = new byte[PAGE];
        w.mm().buffers().syncBuffers(w.disk());
        w.mm().pageCache().invalidateInodePages(f.mapping());
        w.mm().buffers().dropBuffers(w.disk());
        assertThat(f.read(got, 0, PAGE, 5L * PAGE)).isEqualTo(PAGE);
        assertThat(got).isEqualTo(page(3, 5));
    }

    @ParameterizedTest(name = "kpiod {0}")
    @ValueSource(booleans = {false, true})
    void withKpiodTheReclaimingTaskNeverWaitsForTheInodeOfASharedPage(boolean kpiod, Kernels kernels) {
        Local22 w = kpiod ? Local22.boot(kernels, "16m", Kpiod.KPIOD) : Local22.boot(kernels, "16m");
        Process22 p = Process22.attach(w.mm(), w.kernel().currentTask());
        Ext2File f = dirtySharedHolePage(w, p, 4);
        // Another task holds the file's i_sem (a writer in the middle of write()).
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
        AtomicBoolean done = new AtomicBoolean();
        AtomicInteger passes = new AtomicInteger();
        Task reclaimer = w.kernel().kthreadRun("reclaimer", 0, self -> {
            while (f.inode().nrBlocks() == 0 && w.mm().vmscan().filemapSwapouts() == 0 && !self.kthreadShouldStop()) {
                w.mm().vmscan().tryToFreePages(Gfp22.GFP_KERNEL);
                passes.incrementAndGet();
            }
            done.set(true);
        });
        if (kpiod) {
            Await.until(done::get, "reclaim returns although the page's i_sem is held", Duration.ofSeconds(20));
            WaitRecord.Snapshot k = Await.blocked(w.mm().kpiod().task(), Duration.ofSeconds(20));
            assertThat(k.on().name()).startsWith("i_sem of inode");
            assertThat(k.wakers().tasks()).containsExactly(holder);
        } else {
            WaitRecord.Snapshot r = Await.blocked(reclaimer, Duration.ofSeconds(20));
            assertThat(r.on().name()).startsWith("i_sem of inode");
            assertThat(r.wakers().tasks()).containsExactly(holder);
            assertThat(done).isFalse();
        }
        release.complete();
        Await.until(() -> f.inode().nrBlocks() == PAGE / 1024, "the page is written once i_sem is free",
                Duration.ofSeconds(20));
        Await.until(done::get, "reclaim ends", Duration.ofSeconds(20));
    }
}
