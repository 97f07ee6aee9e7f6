package dev.reclaimlab.bench;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelConfig;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.mm.AddressSpace;
import dev.reclaimlab.mm.AddressSpaceOperations;
import dev.reclaimlab.mm.Filemap;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.Mm;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.mm.ShrinkControl;
import dev.reclaimlab.mm.Shrinker;
import dev.reclaimlab.mm.VmStatItem;
import dev.reclaimlab.mm.WritebackControl;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Reclaim's hot paths: filling the page cache when every new page must come from direct reclaim of a
 * clean one, shrink_slab() scanning a shrinker's objects, and the kmalloc fast path while kswapd reclaims
 * behind a streaming reader on the other CPU.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx1g"})
public class ReclaimBench {

    /** A filesystem whose pages read as zeros, synchronously: clean page cache at memcpy cost. */
    static final class ZeroFs implements AddressSpaceOperations {
        private final Mm mm;

        ZeroFs(Mm mm) {
            this.mm = mm;
        }

        @Override
        public int readpage(AddressSpace mapping, int page) {
            mm.mem().memset(mm.pageAddress(page), 0, PhysMem.PAGE_SIZE);
            mm.filemap().setPageUptodate(page);
            mm.filemap().unlockPage(page);
            return 0;
        }

        @Override
        public int writepage(AddressSpace mapping, int page, WritebackControl wbc) {
            throw new IllegalStateException("ZeroFs pages are never dirty");
        }
    }

    /** A 64 MiB kernel without kswapd whose memory is full of clean page cache. */
    @State(Scope.Thread)
    public static class FullOfCleanCache {
        Kernel kernel;
        Mm mm;
        Filemap fm;
        AddressSpace file;
        long next;

        @Setup(Level.Trial)
        public void boot() {
            kernel = Kernel.boot(KernelConfig.builder().memory("64m").lockdep(false).watchdog(false).kswapd(false)
                    .build());
            mm = kernel.mm();
            fm = mm.filemap();
            file = mm.addressSpaceCreate("bench-file", new ZeroFs(mm));
            while (mm.vmstat().get(VmStatItem.ALLOCSTALL_NORMAL) == 0) {
                readNext();
            }
        }

        void readNext() {
            int pfn = fm.readCachePage(file, next++, Gfp.GFP_KERNEL);
            if (pfn < 0) {
                throw new IllegalStateException("page cache read failed: " + pfn);
            }
            fm.putPage(pfn);
        }

        @TearDown(Level.Trial)
        public void shutdown() {
            kernel.close();
        }
    }

    /**
     * One page-cache fill that needs a page: in steady state every page comes from direct reclaim of a
     * clean page (batches of SWAP_CLUSTER_MAX), so this is the cost per reclaimed page including the
     * allocation, the index insert and the read.
     */
    @Benchmark
    public void directReclaimCleanPages(FullOfCleanCache s) {
        s.readNext();
    }

    /** A shrinker over 1M objects whose scan touches each object it is asked for. */
    @State(Scope.Thread)
    public static class ShrinkerState {
        static final int OBJECTS = 1 << 20;
        static final int PRIORITY = 6;
        /** do_shrink_slab() at priority 6: (1M >> 6) * 4 / DEFAULT_SEEKS. */
        static final int SCANNED_PER_CALL = (OBJECTS >> PRIORITY) * 4 / Shrinker.DEFAULT_SEEKS;
        Kernel kernel;
        Mm mm;
        final long[] objects = new long[OBJECTS];
        long sink;

        @Setup(Level.Trial)
        public void boot() {
            kernel = Kernel.boot(KernelConfig.builder().memory("64m").lockdep(false).watchdog(false).kswapd(false)
                    .build());
            mm = kernel.mm();
            for (int i = 0; i < OBJECTS; i++) {
                objects[i] = i * 0x9E3779B97F4A7C15L;
            }
            mm.shrinkers().registerShrinker(new Shrinker() {
                private int cursor;

                @Override
                public String name() {
                    return "bench-objects";
                }

                @Override
                public long countObjects(ShrinkControl sc) {
                    return OBJECTS;
                }

                @Override
                public long scanObjects(ShrinkControl sc) {
                    long acc = 0;
                    for (long i = 0; i < sc.nrToScan; i++) {
                        acc += objects[cursor];
                        cursor = (cursor + 1) & (OBJECTS - 1);
                    }
                    sink += acc;
                    return 0;
                }
            });
        }

        @TearDown(Level.Trial)
        public void shutdown() {
            kernel.close();
        }
    }

    /** ns per object scanned by shrink_slab() (batches of SHRINK_BATCH through do_shrink_slab()). */
    @Benchmark
    @OperationsPerInvocation(ShrinkerState.SCANNED_PER_CALL)
    public long shrinkSlabScan(ShrinkerState s) {
        return s.mm.shrinkSlab(Gfp.GFP_KERNEL, ShrinkerState.PRIORITY);
    }

    /** A kernel whose kswapd keeps reclaiming behind a kthread that streams through the page cache. */
    @State(Scope.Benchmark)
    public static class KswapdBusy {
        Kernel kernel;
        Mm mm;
        Task reader;

        @Setup(Level.Trial)
        public void boot() {
            kernel = Kernel.boot(KernelConfig.builder().memory("64m").lockdep(false).watchdog(false).build());
            mm = kernel.mm();
            AddressSpace file = mm.addressSpaceCreate("stream", new ZeroFs(mm));
            reader = kernel.kthreadRun("reader", self -> {
                for (long i = 0; !self.kthreadShouldStop(); i++) {
                    int pfn = mm.filemap().readCachePage(file, i, Gfp.GFP_KERNEL);
                    if (pfn >= 0) {
                        mm.filemap().putPage(pfn);
                    }
                }
            });
        }

        @TearDown(Level.Trial)
        public void shutdown() {
            long kswapdSteals = mm.vmstat().get(VmStatItem.PGSTEAL_KSWAPD);
            kernel.close();
            if (kswapdSteals == 0) {
                throw new IllegalStateException("kswapd never reclaimed: the background was idle");
            }
        }
    }

    @Benchmark
    public void kmallocKfree64WhileKswapdReclaims(KswapdBusy s) {
        s.mm.kfree(s.mm.kmalloc(64, Gfp.GFP_KERNEL));
    }
}
