package dev.reclaimlab.scenario;

import dev.reclaimlab.block.Bio;
import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.VfsException;
import dev.reclaimlab.fs.xfs.XfsMountOptions;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.Mm;
import dev.reclaimlab.mm.PageAlloc;
import dev.reclaimlab.mm.RadixTreePreload;
import dev.reclaimlab.mm.VmStatItem;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import dev.reclaimlab.watchdog.BlockedTask;
import dev.reclaimlab.watchdog.WaitEdge;
import dev.reclaimlab.watchdog.WatchdogReport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Seed 001 end to end, and the stacked filesystems it runs on. */
@ExtendWith(KernelExtension.class)
@Boot(memory = "32m", hungTaskTimeoutMillis = 30_000)
class XfsOnLoopTest {
    private static final XfsOnLoop SCENARIO = new XfsOnLoop();

    private static RunResult run(String variant, long seconds) {
        return ScenarioRunner.run(SCENARIO, SCENARIO.variant(variant),
                new RunOptions(seconds, 1, 64L << 20, 10_000, null));
    }

    /**
     * The seed's moment, set up on purpose: the read work's preload has to grow the radix_tree_node slab
     * (no free object left), the allocation finds free memory at the min watermark with nothing but the upper
     * XFS's pinned, reclaimable inodes to reclaim, and the upper CIL holds more than the eight iclogs take.
     * In a workload these meet by chance (see the README's rate); here the test arranges them and then lets
     * the 4.3 code run: a read of the image through loop1 is all it does.
     */
    private static final class Moment {
        final XfsLoopStack s;
        final File image;
        final List<Integer> held = new ArrayList<>();
        final List<Long> nodes = new ArrayList<>();
        final int[] bioPages = new int[8];
        final CountDownLatch readDone = new CountDownLatch(1);
        Bio bio;

        Moment(Kernel k) {
            Mm mm = k.mm();
            this.s = scenarioLogStack(k);
            // Every CPU's preload full: a preload allocates only after an insert took nodes from it.
            Task[] fillers = new Task[2 * k.nrCpus()];
            java.util.concurrent.atomic.AtomicBoolean full = new java.util.concurrent.atomic.AtomicBoolean();
            for (int i = 0; i < fillers.length; i++) {
                fillers[i] = k.kthreadRun("preload" + i, self -> {
                    while (!full.get() && !self.kthreadShouldStop()) {
                        assertThat(mm.radixTreePreload().radixTreeMaybePreload(Gfp.GFP_KERNEL)).isZero();
                        mm.radixTreePreload().radixTreePreloadEnd();
                    }
                });
            }
            Await.until(() -> fullPreloads(k), "every CPU's radix tree preload to be full", Duration.ofSeconds(10));
            full.set(true);
            Await.until(() -> Arrays.stream(fillers).noneMatch(t -> t.thread().isAlive()), "the fillers to stop",
                    Duration.ofSeconds(10));
            // 2000 new inodes logged in the CIL (about 460 KiB: more than 8 iclogs of 32 KiB, less than the
            // 1 MiB that starts a background push), closed and pruned: XFS-reclaimable, pinned.
            s.upper().vfs().mkdir("/", "tree");
            for (int i = 0; i < 2000; i++) {
                s.upper().vfs().close(s.upper().vfs().create("/tree", "f" + i));
            }
            s.upper().sb().dcache().pruneDcacheSb(Long.MAX_VALUE);
            s.upper().sb().pruneIcacheSb(Long.MAX_VALUE);
            assertThat(s.upper().nrReclaimableInodes()).isGreaterThanOrEqualTo(2000);
            // Nothing else to reclaim: the image's pages written and dropped.
            this.image = s.lower().vfs().open("/loop1.img");
            s.lower().vfs().fsync(image);
            mm.filemap().invalidateMappingPages(image.inode().mapping(), 0);
            for (int i = 0; i < bioPages.length; i++) {
                bioPages[i] = mm.allocPages(Gfp.GFP_KERNEL, 0);
            }
            // Free memory down to the min watermark, held.
            PageAlloc pa = mm.pageAlloc();
            pa.drainAllPages();
            for (int pfn; (pfn = mm.allocPages(Gfp.GFP_NOWAIT, 0)) != PageAlloc.NULL_PAGE; ) {
                held.add(pfn);
            }
            // No free radix_tree_node object anywhere, and no page for a new slab without reclaim.
            for (int c = 0; c < k.nrCpus(); c++) {
                k.currentTask().runOnCpu(c, () -> {
                    for (long o; (o = mm.kmemCacheAlloc(mm.radixTreeNodeCache(), Gfp.GFP_NOWAIT)) != 0; ) {
                        nodes.add(o);
                    }
                });
            }
            // Then free memory at min + 5: the read's five pages (one, then a window of four) take it back to
            // min, and the slab's new page after them has to reclaim.
            pa.drainAllPages();
            while (pa.nrFreePages() < pa.minWmark() + 5) {
                mm.freePages(held.remove(held.size() - 1), 0);
                pa.drainAllPages();
            }
            assertThat(pa.nrFreePages()).isEqualTo(pa.minWmark() + 5);
        }

        private static boolean fullPreloads(Kernel k) {
            for (int c = 0; c < k.nrCpus(); c++) {
                if (k.mm().radixTreePreload().preloaded(c) < RadixTreePreload.RADIX_TREE_PRELOAD_SIZE) {
                    return false;
                }
            }
            return true;
        }

        /** A read of 8 pages of loop1 where nothing of the image is cached: kloopd1's read work does the rest. */
        void read() {
            bio = new Bio(Bio.Op.READ, 10_000L * 8, bioPages.length);
            for (int pfn : bioPages) {
                bio.addPage(pfn, 4096, 0);
            }
            bio.setEndIo(b -> readDone.countDown());
            s.loop().submitBio(bio);
        }

        void release(Kernel k) {
            for (int pfn : held) {
                k.mm().freePages(pfn, 0);
            }
            held.clear();
        }
    }

    private static final Set<String> FIX_VARIANTS = Set.of("mapping-gfp", "loop-noio", "nonblocking-inode-reclaim");

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"linux-4.3-rc3", "mapping-gfp", "loop-noio", "nonblocking-inode-reclaim"})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    @Boot(memory = "32m", cpus = 1, kswapd = false, hungTaskTimeoutMillis = 30_000)
    void atTheSeedsMomentTheReadWorksTreeNodeAllocationDeadlocksIn43Rc3AndEachFixGetsThrough(String variant,
                                                                                           Kernels kernels) {
        Kernel k = kernels.boot(b -> SCENARIO.variant(variant).configure(b));
        AtomicReference<WatchdogReport> report = new AtomicReference<>();
        k.watchdog().addReportListener(r -> report.compareAndSet(null, r));
        Moment m = new Moment(k);
        long unpinWaits = m.s.upper().reclaimUnpinWaits();
        long stalls = k.mm().vmstat().get(VmStatItem.ALLOCSTALL_NORMAL);
        m.read();
        if (!FIX_VARIANTS.contains(variant)) {
            Await.until(() -> report.get() != null, "the watchdog's report", Duration.ofSeconds(60));
            assertSeedsCycle(report.get());
            return;
        }
        // With the fix the read work's reclaim cannot (or need not) wait for the upper log: it reclaims
        // what it can and, memory being truly short, retries until the test gives memory back.
        Await.until(() -> k.mm().vmstat().get(VmStatItem.ALLOCSTALL_NORMAL) > stalls || m.readDone.getCount() == 0,
                "the read work to reach direct reclaim", Duration.ofSeconds(30));
        m.release(k);
        Await.until(() -> m.readDone.getCount() == 0, "the read to complete", Duration.ofSeconds(30));
        assertThat(m.bio.status()).isZero();
        assertThat(report.get()).as("no watchdog report").isNull();
        assertThat(m.s.upper().reclaimUnpinWaits()).as("reclaim never waited for the upper log").isEqualTo(unpinWaits);
        for (long o : m.nodes) {
            k.mm().kmemCacheFree(k.mm().radixTreeNodeCache(), o);
        }
    }

    /** The seed's three tasks, who waits for whom on what, and the read work's allocation in its stack. */
    private static void assertSeedsCycle(WatchdogReport r) {
        assertThat(r.type()).isEqualTo(WatchdogReport.Type.DEADLOCK);
        assertThat(r.tasks()).hasSize(3);
        BlockedTask read = only(r, t -> t.workqueue() != null && t.workqueue().contains("read_work"));
        BlockedTask write = only(r, t -> t.workqueue() != null && t.workqueue().contains("write_work"));
        BlockedTask cil = only(r, t -> "xfs-cil/loop1 xlog_cil_push_work".equals(t.workqueue()));
        // Workers of kloopd1, an unbound workqueue: "kworker/u4:2" with "Workqueue: kloopd1 loop_queue_read_work".
        assertThat(read.workqueue()).isEqualTo("kloopd1 loop_queue_read_work");
        assertThat(write.workqueue()).isEqualTo("kloopd1 loop_queue_write_work");
        assertThat(read.comm()).matches("kworker/u\\d+:\\d+");
        assertThat(write.comm()).matches("kworker/u\\d+:\\d+");
        WaitEdge fromRead = edgeFrom(r, read);
        assertThat(fromRead.to()).isEqualTo(cil.task());
        assertThat(fromRead.kind()).isEqualTo("completion");
        assertThat(fromRead.via()).contains("xfs_cil_ctx loop1");
        WaitEdge fromCil = edgeFrom(r, cil);
        assertThat(fromCil.to()).isEqualTo(write.task());
        assertThat(fromCil.kind()).isEqualTo("waitqueue");
        assertThat(fromCil.via()).contains("l_flush_wait loop1");
        WaitEdge fromWrite = edgeFrom(r, write);
        assertThat(fromWrite.to()).isEqualTo(read.task());
        assertThat(fromWrite.kind()).isEqualTo("rwsem-write");
        assertThat(fromWrite.via()).contains("&(&ip->i_iolock)->mr_lock");
        assertThat(read.heldLocks()).anyMatch(l -> l.contains("(&(&ip->i_iolock)->mr_lock)"));
        assertCallChain(read.stack(), "kmemCacheAlloc", "radixTreePreload", "addToPageCacheLru", "mpageReadpages",
                "xfsFileIterRead", "loopQueueReadWork");
        assertCallChain(read.stack(), "xfsLogForce", "xfsIunpinWait", "xfsReclaimInode", "directReclaim",
                "kmemCacheAlloc");
        assertCallChain(cil.stack(), "xlogStateGetIclogSpace", "xlogCilPush");
        assertCallChain(write.stack(), "xfsFileWriteIter", "loopQueueWriteWork");
    }

    private static BlockedTask only(WatchdogReport r, java.util.function.Predicate<BlockedTask> p) {
        List<BlockedTask> l = r.tasks().stream().filter(p).toList();
        assertThat(l).as("%s", r.taskNames()).hasSize(1);
        return l.get(0);
    }

    private static WaitEdge edgeFrom(WatchdogReport r, BlockedTask t) {
        List<WaitEdge> l = r.edges().stream().filter(e -> e.from().equals(t.task())).toList();
        assertThat(l).as("edges from %s in %s", t.task(), r.edges()).hasSize(1);
        return l.get(0);
    }

    /** {@code frames}, innermost first, appear in the stack in that order (each a caller of the one before). */
    private static void assertCallChain(List<String> stack, String... frames) {
        int at = -1;
        for (String f : frames) {
            int i = at + 1;
            while (i < stack.size() && !stack.get(i).startsWith(f + " ")) {
                i++;
            }
            assertThat(i).as("%s called after %s in %s", f, at < 0 ? "the top" : stack.get(at), stack)
                    .isLessThan(stack.size());
            at = i;
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"mapping-gfp", "loop-noio", "nonblocking-inode-reclaim"})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void eachFixRunsTheWorkloadCleanUnderPressure(String variant) {
        RunResult r = run(variant, 8);
        assertThat(r.outcome()).as(r.summary() + " " + r.errors()).isEqualTo(Outcome.CLEAN);
        assertThat(r.errors()).isEmpty();
        assertThat(r.vmstat().get("allocstall_normal")).as("direct reclaim happened").isPositive();
        assertThat(r.vmstat().get("pgsteal_kswapd") + r.vmstat().get("pgsteal_direct")).isPositive();
        assertThat(r.progress()).containsPattern("verified [1-9]\\d*M");
    }

    /** The scenario's stack, smaller: a 128 MiB ram0 and a 64 MiB image. */
    private static XfsLoopStack stack(Kernel k) {
        return XfsLoopStack.build(k, 128L << 20, 64L << 20, null);
    }

    /** With the scenario's upper log: 8 MiB, eight 32 KiB iclogs. */
    private static XfsLoopStack scenarioLogStack(Kernel k) {
        return XfsLoopStack.build(k, 128L << 20, 64L << 20, new XfsMountOptions(XfsOnLoop.UPPER_LOG_SECTORS,
                XfsOnLoop.UPPER_LOGBUFS, XfsOnLoop.UPPER_LOGBSIZE));
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void bytesWrittenThroughTheStackedFilesystemsReadBackExactlyAfterEveryCacheIsDropped(Kernel k) {
        XfsLoopStack s = stack(k);
        byte[][] data = new byte[24][];
        for (int i = 0; i < data.length; i++) {
            data[i] = new byte[40_000 + i * 4099];
            new SplittableRandom(i).nextBytes(data[i]);
            File f = s.upper().vfs().create("/", "f" + i);
            s.upper().vfs().write(f, 0, data[i]);
            s.upper().vfs().fsync(f);
            s.upper().vfs().close(f);
        }
        // echo 1 > drop_caches on both filesystems: every byte must now come up through loop1 from ram0.
        for (int i = 0; i < data.length; i++) {
            File f = s.upper().vfs().open("/f" + i);
            k.mm().filemap().invalidateMappingPages(f.inode().mapping(), 0);
            assertThat(f.inode().mapping().nrpages()).isZero();
            s.upper().vfs().close(f);
        }
        // The upper log or the flusher may dirty a page of the image again meanwhile; the upper files'
        // pages, which are what is read back, are gone for certain.
        File image = s.lower().vfs().open("/loop1.img");
        s.lower().vfs().fsync(image);
        k.mm().filemap().invalidateMappingPages(image.inode().mapping(), 0);
        s.lower().vfs().close(image);
        for (int i = 0; i < data.length; i++) {
            File f = s.upper().vfs().open("/f" + i);
            assertThat(s.upper().vfs().read(f, 0, data[i].length)).as("f%d", i).isEqualTo(data[i]);
            s.upper().vfs().close(f);
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void anIoErrorOnTheLowerDeviceReachesTheUpperFilesystemAsAnErrorAndNothingHangs(Kernel k) {
        XfsLoopStack s = stack(k);
        byte[] data = new byte[256 << 10];
        new SplittableRandom(7).nextBytes(data);
        File f = s.upper().vfs().create("/", "victim");
        s.upper().vfs().write(f, 0, data);
        s.upper().vfs().fsync(f);
        s.upper().vfs().close(f);
        // Drop every clean page of both page caches, then make the lower disk fail.
        File held = s.upper().vfs().open("/victim");
        k.mm().filemap().invalidateMappingPages(held.inode().mapping(), 0);
        s.upper().vfs().close(held);
        File image = s.lower().vfs().open("/loop1.img");
        s.lower().vfs().fsync(image);
        k.mm().filemap().invalidateMappingPages(image.inode().mapping(), 0);
        s.lower().vfs().close(image);
        s.ram().injectIoError(0, s.ram().nrSectors());
        File again = s.upper().vfs().open("/victim");
        assertThatThrownBy(() -> s.upper().vfs().read(again, 0, data.length))
                .isInstanceOf(VfsException.class)
                .satisfies(e -> assertThat(((VfsException) e).errno()).isEqualTo(Errno.EIO));
        s.ram().clearIoErrors();
        assertThat(s.upper().vfs().read(again, 0, data.length)).isEqualTo(data);
        s.upper().vfs().close(again);
    }
}
