package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.reclaimlab.mm.Gfp.GFP_KERNEL;
import static dev.reclaimlab.mm.Gfp.GFP_NOFS;
import static dev.reclaimlab.mm.Gfp.GFP_NOWAIT;
import static dev.reclaimlab.mm.Gfp.__GFP_FS;
import static dev.reclaimlab.mm.Gfp.__GFP_IO;
import static dev.reclaimlab.mm.Gfp.__GFP_RECLAIM;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The 4.3 read path in mm: the per-CPU radix tree preload, readahead windows, the obey_mapping_gfp switch. */
@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m", kswapd = false)
class ReadPathTest {

    private static AddressSpace file(Mm mm, TestFs fs, String name, long pages) {
        AddressSpace m = mm.addressSpaceCreate(name, fs);
        m.mappingSetGfpMask(GFP_NOFS);
        m.setHostSize(() -> pages * PhysMem.PAGE_SIZE);
        return m;
    }

    private static int add(Mm mm, AddressSpace m, long index, int gfp) {
        int pfn = mm.allocPages(GFP_NOWAIT, 0);
        assertThat(pfn).isNotEqualTo(PageAlloc.NULL_PAGE);
        int err = mm.filemap().addToPageCacheLru(pfn, m, index, gfp);
        if (err == 0) {
            mm.filemap().unlockPage(pfn);
        }
        mm.filemap().putPage(pfn);
        return err;
    }

    @Test
    void aPageCacheInsertTopsThisCpusPreloadUpAndTakesTheNodesItNeedsFromIt(Kernel k) {
        Mm mm = k.mm();
        TestFs fs = new TestFs(k);
        AddressSpace m = file(mm, fs, "f", 1L << 30);
        RadixTreePreload p = mm.radixTreePreload();
        // The preload is per CPU: keep the test task on one.
        int cpu = 0;
        Task.current().setCpusAllowed(cpu);
        assertThat(add(mm, m, 0, GFP_KERNEL)).isZero();
        assertThat(p.preloaded(cpu)).isEqualTo(RadixTreePreload.RADIX_TREE_PRELOAD_SIZE);
        long objects = mm.radixTreeNodeCache().activeObjects();
        // Index 2^24 needs a root of shift 24 and the path down: the nodes come out of the preload.
        assertThat(add(mm, m, 1L << 24, GFP_KERNEL)).isZero();
        int used = RadixTreePreload.RADIX_TREE_PRELOAD_SIZE - p.preloaded(cpu);
        assertThat(used).isGreaterThanOrEqualTo(4);
        assertThat(mm.radixTreeNodeCache().activeObjects()).as("the preload was full: nothing new allocated")
                .isEqualTo(objects);
        // A caller that cannot block preloads nothing; its insert, needing no node, takes none.
        assertThat(add(mm, m, 1, GFP_NOWAIT)).isZero();
        assertThat(p.preloaded(cpu)).isEqualTo(RadixTreePreload.RADIX_TREE_PRELOAD_SIZE - used);
        assertThat(add(mm, m, 2, GFP_KERNEL)).isZero();
        assertThat(p.preloaded(cpu)).as("the next blocking insert refills").isEqualTo(
                RadixTreePreload.RADIX_TREE_PRELOAD_SIZE);
        mm.addressSpaceDestroy(m);
    }

    @Test
    void aDeadCpusPreloadedNodesGoBackToTheSlab(Kernel k) {
        Mm mm = k.mm();
        TestFs fs = new TestFs(k);
        AddressSpace m = file(mm, fs, "f", 1L << 20);
        assertThat(add(mm, m, 0, GFP_KERNEL)).isZero();
        mm.addressSpaceDestroy(m);
        RadixTreePreload p = mm.radixTreePreload();
        long before = mm.radixTreeNodeCache().activeObjects();
        long freed = 0;
        for (int c = 0; c < k.nrCpus(); c++) {
            freed += p.radixTreeCpuDead(c);
        }
        assertThat(freed).isEqualTo(RadixTreePreload.RADIX_TREE_PRELOAD_SIZE);
        assertThat(p.preloaded()).isZero();
        assertThat(mm.radixTreeNodeCache().activeObjects()).isEqualTo(before - freed).isZero();
        assertThatThrownBy(() -> p.radixTreeCpuDead(k.nrCpus())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("CPU" + k.nrCpus() + " does not exist");
    }

    @ParameterizedTest
    @ValueSource(ints = {GFP_NOFS, GFP_KERNEL})
    void thePreloadAllocatesWithTheGfpOfTheInsertSoThatIsWhatDirectReclaimGets(int gfp, Kernel k) {
        Mm mm = k.mm();
        TestFs fs = new TestFs(k);
        AddressSpace m = file(mm, fs, "image", 1L << 30);
        int cpu = 1;
        Task.current().setCpusAllowed(cpu);
        assertThat(add(mm, m, 0, GFP_KERNEL)).isZero();
        assertThat(add(mm, m, 1L << 24, GFP_KERNEL)).isZero();
        assertThat(mm.radixTreePreload().preloaded(cpu)).isLessThan(RadixTreePreload.RADIX_TREE_PRELOAD_SIZE);
        int page = mm.allocPages(GFP_NOWAIT, 0);
        List<Integer> parked = new ArrayList<>();
        for (int pfn; (pfn = mm.allocPages(GFP_NOWAIT, 0)) != PageAlloc.NULL_PAGE; ) {
            parked.add(pfn);
        }
        List<Long> objs = new ArrayList<>();
        for (int c = 0; c < k.nrCpus(); c++) {
            Task.current().runOnCpu(c, () -> {
                for (long o; (o = mm.kmemCacheAlloc(mm.radixTreeNodeCache(), GFP_NOWAIT)) != 0; ) {
                    objs.add(o);
                }
            });
        }
        List<Integer> seen = new CopyOnWriteArrayList<>();
        List<String> stacks = new CopyOnWriteArrayList<>();
        mm.pageAlloc().setReclaimHooks(new ReclaimHooks() {
            @Override
            public void wakeupKswapd(int order, int g) {
            }

            @Override
            public long tryToFreePages(int g, int order) {
                seen.add(g);
                stacks.add(Arrays.toString(Thread.currentThread().getStackTrace()));
                long n = 0;
                while (!parked.isEmpty() && n < 64) {
                    mm.freePages(parked.remove(parked.size() - 1), 0);
                    n++;
                }
                return n;
            }
        });
        assertThat(mm.filemap().addToPageCacheLru(page, m, 5, gfp)).isZero();
        assertThat(seen).as("the preload entered direct reclaim").isNotEmpty();
        assertThat(Gfp.format(seen.get(0) & (__GFP_RECLAIM | __GFP_IO | __GFP_FS))).isEqualTo(Gfp.format(gfp));
        assertThat(stacks.get(0)).contains("RadixTreePreload.radixTreePreload", "Filemap.addToPageCacheLru");
        mm.pageAlloc().setReclaimHooks(null);
        mm.filemap().unlockPage(page);
        mm.filemap().putPage(page);
        for (long o : objs) {
            mm.kmemCacheFree(mm.radixTreeNodeCache(), o);
        }
        for (int pfn : parked) {
            mm.freePages(pfn, 0);
        }
        mm.addressSpaceDestroy(m);
    }

    @Test
    void sequentialReadsGetAnInitialWindowThenAsyncWindowsStartedAtTheMarker(Kernel k) {
        Mm mm = k.mm();
        TestFs fs = new TestFs(k);
        AddressSpace m = file(mm, fs, "seq", 256);
        FileRaState ra = new FileRaState(m);
        assertThat(ra.raPages()).isEqualTo(BackingDevInfo.VM_MAX_READAHEAD_PAGES);
        byte[] buf = new byte[16 << 10];
        Filemap.ReadActor into = (src, n) -> mm.mem().copyOut(src, buf, 0, n);
        assertThat(mm.filemap().doGenericFileRead(m, ra, 0, buf.length, into)).isEqualTo(buf.length);
        // get_init_ra_size(4 pages, 32) = 8, of which 4 are ahead of the reader and start at the marker.
        assertThat(ra.start()).isZero();
        assertThat(ra.size()).isEqualTo(8);
        assertThat(ra.asyncSize()).isEqualTo(4);
        assertThat(m.nrpages()).isEqualTo(8);
        assertThat(mm.filemap().doGenericFileRead(m, ra, buf.length, buf.length, into)).isEqualTo(buf.length);
        // The marker at page 4 pushed the window on: get_next_ra_size(8) = 16 pages from page 8.
        assertThat(ra.start()).isEqualTo(8);
        assertThat(ra.size()).isEqualTo(16);
        assertThat(m.nrpages()).isEqualTo(24);
        // prev_pos as 4.3 leaves it: the last page read (7) and the offset the next read would start at in it (0).
        assertThat(ra.prevPos()).isEqualTo(7L * PhysMem.PAGE_SIZE);
        mm.addressSpaceDestroy(m);
    }

    @Test
    void aRandomSmallReadReadsJustWhatItAsksAndLeavesTheWindowAlone(Kernel k) {
        Mm mm = k.mm();
        TestFs fs = new TestFs(k);
        AddressSpace m = file(mm, fs, "rand", 4096);
        FileRaState ra = new FileRaState(m);
        byte[] buf = new byte[8 << 10];
        Filemap.ReadActor into = (src, n) -> mm.mem().copyOut(src, buf, 0, n);
        assertThat(mm.filemap().doGenericFileRead(m, ra, 1000L * PhysMem.PAGE_SIZE, buf.length, into))
                .isEqualTo(buf.length);
        assertThat(m.nrpages()).isEqualTo(2);
        assertThat(ra.size()).isZero();
        mm.addressSpaceDestroy(m);
    }

    @ParameterizedTest(name = "obey_mapping_gfp={0}")
    @ValueSource(booleans = {false, true})
    void readaheadAddsItsPagesWithGfpKernelBeforeTheFixAndWithTheMappingsGfpAfter(boolean fix, Kernels kernels) {
        Kernel k = kernels.boot(b -> b.with(Readahead.OBEY_MAPPING_GFP, fix));
        Mm mm = k.mm();
        TestFs fs = new TestFs(k);
        AddressSpace m = file(mm, fs, "nofs", 64);
        List<Integer> gfps = new CopyOnWriteArrayList<>();
        mm.filemap().setAddToPageCacheTrace((mapping, index, gfp) -> gfps.add(gfp));
        byte[] buf = new byte[32 << 10];
        mm.filemap().doGenericFileRead(m, new FileRaState(m), 0, buf.length,
                (src, n) -> mm.mem().copyOut(src, buf, 0, n));
        mm.filemap().setAddToPageCacheTrace(null);
        // TestFs has no readpages: read_pages() adds each page and calls readpage().
        assertThat(gfps).hasSize(16).containsOnly(fix ? GFP_NOFS : GFP_KERNEL);
        assertThat(Readahead.readaheadAllocGfp(m)).as("the pages themselves: the mapping's, cold, no retry")
                .isEqualTo(GFP_NOFS | Gfp.__GFP_COLD | Gfp.__GFP_NORETRY | Gfp.__GFP_NOWARN);
        mm.addressSpaceDestroy(m);
    }
}
