package dev.reclaimlab.bench;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelConfig;
import dev.reclaimlab.mm.AddressSpace;
import dev.reclaimlab.mm.AddressSpaceOperations;
import dev.reclaimlab.mm.Filemap;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.Mm;
import dev.reclaimlab.mm.WritebackControl;
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
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The page-cache lookup (mm/filemap.c as in Linux 4.3, which the emulator's page cache models):
 * find_get_page() of a cached page and its put_page(), and a lookup that misses, on an inode's cache of 4096
 * pages (a three-level index), cycling through the indexes.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx1g"})
public class PageCacheBench {
    static final int NR_PAGES = 4096;

    /** Pages are filled by hand; the benchmark never reads or writes through the filesystem. */
    static final class NoIo implements AddressSpaceOperations {
        @Override
        public int readpage(AddressSpace mapping, int page) {
            throw new IllegalStateException("the benchmark's pages are always uptodate");
        }

        @Override
        public int writepage(AddressSpace mapping, int page, WritebackControl wbc) {
            throw new IllegalStateException("the benchmark's pages are never dirty");
        }
    }

    @State(Scope.Thread)
    public static class CachedFile {
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
            file = mm.addressSpaceCreate("bench-file", new NoIo());
            for (int i = 0; i < NR_PAGES; i++) {
                int pfn = mm.allocPages(Gfp.GFP_KERNEL, 0);
                if (fm.addToPageCacheLru(pfn, file, i, Gfp.GFP_KERNEL) != 0) {
                    throw new IllegalStateException("add_to_page_cache_lru failed at " + i);
                }
                fm.setPageUptodate(pfn);
                fm.unlockPage(pfn);
                fm.putPage(pfn);
            }
        }

        @TearDown(Level.Trial)
        public void shutdown() {
            mm.addressSpaceDestroy(file);
            kernel.close();
        }
    }

    @Benchmark
    public int findGetPageHit(CachedFile s) {
        int pfn = s.fm.findGetPage(s.file, s.next++ & (NR_PAGES - 1));
        s.fm.putPage(pfn);
        return pfn;
    }

    @Benchmark
    public int findGetPageMiss(CachedFile s) {
        return s.fm.findGetPage(s.file, NR_PAGES + (s.next++ & (NR_PAGES - 1)));
    }

    /** The hit as a reader sees it: lookup, page_address(), one word read, put. */
    @Benchmark
    public long findGetPageHitRead(CachedFile s) {
        int pfn = s.fm.findGetPage(s.file, s.next++ & (NR_PAGES - 1));
        long v = s.mm.mem().getLong(s.mm.pageAddress(pfn));
        s.fm.putPage(pfn);
        return v;
    }
}
