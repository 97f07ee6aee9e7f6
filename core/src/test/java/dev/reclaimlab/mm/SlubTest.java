package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static dev.reclaimlab.mm.Gfp.GFP_KERNEL;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m")
class SlubTest {

    @Test
    void objectsAreDistinctAlignedAndInsideTheirSlab(Kernel k) {
        Mm mm = k.mm();
        KmemCache c = mm.kmemCacheCreate("dentry", 192, 0, SlabFlags.SLAB_HWCACHE_ALIGN | SlabFlags.SLAB_RECLAIM_ACCOUNT);
        assertThat(c.align()).isEqualTo(64);
        Set<Long> seen = new HashSet<>();
        List<Long> objs = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            long o = mm.kmemCacheAlloc(c, GFP_KERNEL);
            assertThat(o).isNotZero();
            assertThat(o % 64).isZero();
            assertThat(seen.add(o)).as("object 0x%x handed out twice", o).isTrue();
            mm.mem().putLong(o, i);
            mm.mem().putLong(o + 184, ~i);
            objs.add(o);
        }
        for (int i = 0; i < objs.size(); i++) {
            assertThat(mm.mem().getLong(objs.get(i))).isEqualTo(i);
            assertThat(mm.mem().getLong(objs.get(i) + 184)).isEqualTo(~(long) i);
        }
        assertThat(c.activeObjects()).isEqualTo(1000);
        assertThat(mm.vmstat().get(VmStatItem.NR_SLAB_RECLAIMABLE_B)).isEqualTo(c.nrSlabs() * (4096L << c.order()));
        for (long o : objs) {
            mm.kmemCacheFree(c, o);
        }
        assertThat(c.activeObjects()).isZero();
        mm.slub().kmemCacheDestroy(c);
        assertThat(mm.vmstat().get(VmStatItem.NR_SLAB_RECLAIMABLE_B)).isZero();
    }

    @Test
    void kmallocPicksTheSmallestSizeClassAndGoesToPagesAbove8k(Kernel k) {
        Mm mm = k.mm();
        KmallocCaches km = mm.kmallocCaches();
        int[][] expect = {{1, 8}, {8, 8}, {9, 16}, {33, 64}, {65, 96}, {96, 96}, {97, 128}, {129, 192},
            {193, 256}, {257, 512}, {1000, 1024}, {2049, 4096}, {8192, 8192}};
        for (int[] e : expect) {
            long o = mm.kmalloc(e[0], GFP_KERNEL);
            assertThat(km.ksize(o)).as("kmalloc(%d)", e[0]).isEqualTo(e[1]);
            if (Integer.bitCount(e[1]) == 1) {
                assertThat(o % e[1]).as("kmalloc-%d objects are naturally aligned", e[1]).isZero();
            }
            mm.kfree(o);
        }
        long big = mm.kmalloc(20_000, GFP_KERNEL);
        assertThat(km.ksize(big)).isEqualTo(32768);
        assertThat(big % 4096).isZero();
        mm.kfree(big);
        assertThatThrownBy(() -> mm.kfree(big)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not a kmalloc'ed object");
        assertThat(mm.kmalloc(0, GFP_KERNEL)).isEqualTo(KmallocCaches.ZERO_SIZE_PTR);
        mm.kfree(KmallocCaches.ZERO_SIZE_PTR);
        mm.kfree(0);
        assertThatThrownBy(() -> mm.kmalloc(-1, GFP_KERNEL)).hasMessageContaining("size -1");
        assertThatThrownBy(() -> mm.kmalloc(KmallocCaches.KMALLOC_MAX_SIZE + 1, GFP_KERNEL))
                .hasMessageContaining("outside");
    }

    @Test
    void doubleFreeWrongCacheAndInteriorPointersThrowNamingCacheAndObject(Kernel k) {
        Mm mm = k.mm();
        KmemCache a = mm.kmemCacheCreate("xfs_inode", 100, 0, 0);
        KmemCache b = mm.kmemCacheCreate("nfs_page", 100, 0, 0);
        long o = mm.kmemCacheAlloc(a, GFP_KERNEL);
        long keep = mm.kmemCacheAlloc(a, GFP_KERNEL);
        assertThatThrownBy(() -> mm.kmemCacheFree(b, o)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Wrong slab cache. nfs_page but object is from xfs_inode");
        assertThatThrownBy(() -> mm.kmemCacheFree(a, o + 8)).hasMessageContaining("not the start of an object");
        mm.kmemCacheFree(a, o);
        assertThatThrownBy(() -> mm.kmemCacheFree(a, o)).isInstanceOf(SlabError.class)
                .hasMessageContaining("BUG xfs_inode (Not tainted): Object already free")
                .hasMessageContaining(String.format("0x%x", o))
                .hasMessageContaining("SlubTest");
        long p = mm.kmalloc(64, GFP_KERNEL);
        mm.kfree(p);
        assertThatThrownBy(() -> mm.kfree(p)).isInstanceOf(SlabError.class).hasMessageContaining("kmalloc-64");
        int page = mm.allocPages(GFP_KERNEL, 0);
        assertThatThrownBy(() -> mm.kfree(mm.pageAddress(page))).hasMessageContaining("page allocation of order 0");
        assertThatThrownBy(() -> mm.kfree(0x1234_5678L)).hasMessageContaining("outside kernel memory");
        // Nothing was corrupted: the live object is intact and the cache still works.
        assertThat(a.activeObjects()).isEqualTo(1);
        mm.kmemCacheFree(a, keep);
        long again = mm.kmemCacheAlloc(a, GFP_KERNEL);
        long again2 = mm.kmemCacheAlloc(a, GFP_KERNEL);
        assertThat(again).isNotEqualTo(again2);
        mm.kmemCacheFree(a, again);
        mm.kmemCacheFree(a, again2);
        mm.freePages(page, 0);
    }

    @Test
    void destroyRefusesWhileObjectsLiveAndShrinkGivesEmptySlabsBack(Kernel k) {
        Mm mm = k.mm();
        KmemCache c = mm.kmemCacheCreate("buffer_head", 104, 0, 0);
        List<Long> objs = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            objs.add(mm.kmemCacheAlloc(c, GFP_KERNEL));
        }
        long slabs = c.nrSlabs();
        assertThat(slabs).isGreaterThan(10);
        long last = objs.remove(objs.size() - 1);
        for (long o : objs) {
            mm.kmemCacheFree(c, o);
        }
        long freedPages = mm.slub().kmemCacheShrink(c);
        assertThat(c.nrSlabs()).isEqualTo(1);
        assertThat(freedPages).as("min_partial empty slabs kept until shrink").isGreaterThan(0);
        assertThatThrownBy(() -> mm.slub().kmemCacheDestroy(c)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("buffer_head").hasMessageContaining("1 allocated");
        mm.kmemCacheFree(c, last);
        mm.slub().kmemCacheDestroy(c);
        assertThat(c.nrSlabs()).isZero();
        assertThatThrownBy(() -> mm.kmemCacheAlloc(c, GFP_KERNEL)).hasMessageContaining("destroyed");
    }

    @Test
    void countersPrintInTheKernelsFormats(Kernel k) {
        Mm mm = k.mm();
        long o = mm.kmalloc(100, GFP_KERNEL);
        String slabinfo = mm.slub().slabinfo();
        assertThat(slabinfo).startsWith("slabinfo - version: 2.1\n# name            <active_objs>");
        assertThat(slabinfo).containsPattern("(?m)^kmalloc-128\\s+1\\s+\\d+\\s+128\\s+\\d+\\s+1 : tunables"
                + "\\s+0\\s+0\\s+0 : slabdata\\s+1\\s+1\\s+0$");
        String meminfo = mm.meminfo();
        assertThat(meminfo).startsWith("MemTotal:          16384 kB\nMemFree:  ");
        assertThat(meminfo).containsPattern("(?m)^SUnreclaim:\\s+4 kB$");
        assertThat(mm.vmstat().procVmstat()).containsPattern("(?m)^nr_free_pages \\d+$")
                .containsPattern("(?m)^pgalloc_normal [1-9]\\d*$");
        assertThat(mm.pageAlloc().buddyinfo()).startsWith("Node 0, zone   Normal ");
        mm.kfree(o);
    }
}
