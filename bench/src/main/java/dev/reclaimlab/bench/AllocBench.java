package dev.reclaimlab.bench;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelConfig;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.KmemCache;
import dev.reclaimlab.mm.Mm;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import org.agrona.UnsafeApi;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * The allocation fast paths (kmalloc/kfree, kmem_cache_alloc/free, alloc_pages/free_pages) with their peers
 * in the same run, so the ratios are measured side by side: Netty's pooled direct buffers, the C library's
 * malloc through Unsafe, and ByteBuffer.allocateDirect. Each op is one allocation plus its free.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx1g"})
public class AllocBench {

    /**
     * One 256 MiB kernel with two emulated CPUs, shared by the benchmark threads. Lockdep is off, as in a
     * production kernel; {@link LockdepKernelState} measures what its fs_reclaim annotation adds.
     */
    @State(Scope.Benchmark)
    public static class KernelState {
        Kernel kernel;
        Mm mm;
        KmemCache cache;

        boolean lockdep() {
            return false;
        }

        @Setup(Level.Trial)
        public void boot() {
            kernel = Kernel.boot(KernelConfig.builder().memory("256m").cpus(2).lockdep(lockdep()).watchdog(false)
                    .build());
            mm = kernel.mm();
            cache = mm.kmemCacheCreate("bench_object", 64, 0, 0);
        }

        @TearDown(Level.Trial)
        public void shutdown() {
            kernel.close();
        }
    }

    /** The same kernel with lockdep on: every GFP_KERNEL allocation takes and drops fs_reclaim. */
    @State(Scope.Benchmark)
    public static class LockdepKernelState extends KernelState {
        @Override
        boolean lockdep() {
            return true;
        }
    }

    @Benchmark
    public void kmallocKfree64(KernelState s) {
        s.mm.kfree(s.mm.kmalloc(64, Gfp.GFP_KERNEL));
    }

    @Benchmark
    public void kmallocKfree64LockdepOn(LockdepKernelState s) {
        s.mm.kfree(s.mm.kmalloc(64, Gfp.GFP_KERNEL));
    }

    @Benchmark
    @Threads(2)
    public void kmallocKfree64Threads2(KernelState s) {
        s.mm.kfree(s.mm.kmalloc(64, Gfp.GFP_KERNEL));
    }

    @Benchmark
    public void kmemCacheAllocFree(KernelState s) {
        s.mm.kmemCacheFree(s.cache, s.mm.kmemCacheAlloc(s.cache, Gfp.GFP_KERNEL));
    }

    @Benchmark
    public void allocPagesFreePagesOrder0(KernelState s) {
        s.mm.freePages(s.mm.allocPages(Gfp.GFP_KERNEL, 0), 0);
    }

    @Benchmark
    @Threads(2)
    public void allocPagesFreePagesOrder0Threads2(KernelState s) {
        s.mm.freePages(s.mm.allocPages(Gfp.GFP_KERNEL, 0), 0);
    }

    @Benchmark
    public void allocPagesFreePagesOrder3(KernelState s) {
        s.mm.freePages(s.mm.allocPages(Gfp.GFP_KERNEL, 3), 3);
    }

    @Benchmark
    public void nettyPooledDirect64() {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(64);
        b.release();
    }

    @Benchmark
    public void unsafeMallocFree64() {
        UnsafeApi.freeMemory(UnsafeApi.allocateMemory(64));
    }

    @Benchmark
    public ByteBuffer allocateDirect64() {
        return ByteBuffer.allocateDirect(64);
    }
}
