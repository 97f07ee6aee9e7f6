package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;

import static dev.reclaimlab.mm.MemMap.NO_PFN;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * allocate_slab()'s order fallback (SLUB since 2.6.26) and 4.3's preferred-order try without direct
 * reclaim (6af3142bed1f): with no free order-1 block, an order-1 cache grows at order 0, and only 3.14's
 * try reclaims first. The size is 4.3's radix_tree_node, the slab whose growth takes kloopd's read work
 * into reclaim in xfs-on-loop.
 */
@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m", kswapd = false)
class SlubOrderFallbackTest {
    private static final int NODE_SIZE = 552;

    /** Records direct reclaim by order and frees nothing. */
    private static final class Hooks implements ReclaimHooks {
        final List<Integer> orders = new ArrayList<>();

        @Override
        public void wakeupKswapd(int order, int gfp) {
        }

        @Override
        public long tryToFreePages(int gfp, int order) {
            orders.add(order);
            return 0;
        }
    }

    /**
     * Takes every free page at order 0, then frees every other one: half the memory is free, above every
     * watermark, and no two free pages are buddies, so no order-1 block exists. Returns the pages kept.
     */
    private static List<Integer> fragment(Kernel k) {
        PageAlloc pa = k.mm().pageAlloc();
        Task t = k.currentTask();
        List<Integer> all = new ArrayList<>();
        int atomic = atomicGfp(k);
        t.setFlags(t.flags() | TaskFlags.PF_MEMALLOC);
        try {
            for (int p; (p = pa.allocPages(atomic, 0)) != NO_PFN; ) {
                all.add(p);
            }
        } finally {
            t.setFlags(t.flags() & ~TaskFlags.PF_MEMALLOC);
        }
        List<Integer> kept = new ArrayList<>();
        for (int p : all) {
            if ((p & 1) == 0) {
                pa.freePages(p, 0);
            } else {
                kept.add(p);
            }
        }
        assertThat(pa.nrFreePages()).isGreaterThan(pa.highWmark());
        return kept;
    }

    /** GFP_ATOMIC in the gfp bits of the kernel's version. */
    private static int atomicGfp(Kernel k) {
        return k.config().version().atLeast(KernelVersion.V3_14) ? Gfp.GFP_ATOMIC : Gfp22.GFP_ATOMIC;
    }

    @ParameterizedTest(name = "{0}: preferred-order try reclaims {1}")
    @CsvSource({"3.14, true", "4.3, false"})
    void anOrder1CacheGrowsAtOrder0WhenNoOrder1BlockIsFree(String version, boolean firstTryReclaims,
                                                           Kernels kernels) {
        Kernel k = kernels.boot(b -> b.version(KernelVersion.parse(version)));
        Mm mm = k.mm();
        KmemCache c = mm.kmemCacheCreate("radix_tree_node", NODE_SIZE, 0, SlabFlags.SLAB_RECLAIM_ACCOUNT);
        assertThat(c.order()).isEqualTo(1);
        assertThat(c.minOrder()).isZero();
        assertThat(c.objectsPerSlab()).isEqualTo(14);
        assertThat(c.minObjectsPerSlab()).isEqualTo(7);
        fragment(k);
        Hooks h = new Hooks();
        mm.pageAlloc().setReclaimHooks(h);

        List<Long> objs = new ArrayList<>();
        for (int i = 0; i < 2 * c.minObjectsPerSlab(); i++) {
            long o = mm.kmemCacheAlloc(c, Gfp.GFP_KERNEL);
            assertThat(o).isNotZero();
            mm.mem().putLong(o, i);
            mm.mem().putLong(o + NODE_SIZE - 8, ~i);
            objs.add(o);
        }
        assertThat(c.nrSlabs()).isEqualTo(2);
        assertThat(c.nrPages()).isEqualTo(2);
        assertThat(c.totalObjects()).isEqualTo(14);
        assertThat(c.orderFallbacks()).isEqualTo(2);
        assertThat(mm.vmstat().get(VmStatItem.NR_SLAB_RECLAIMABLE_B)).isEqualTo(2 * 4096L);
        assertThat(h.orders).as("direct reclaim orders").isEqualTo(firstTryReclaims ? List.of(1, 1) : List.of());
        for (int i = 0; i < objs.size(); i++) {
            long o = objs.get(i);
            assertThat(o >>> PhysMem.PAGE_SHIFT).as("object %d lies in one order-0 slab", i)
                    .isEqualTo((o + NODE_SIZE - 1) >>> PhysMem.PAGE_SHIFT);
            assertThat(mm.mem().getLong(o)).isEqualTo(i);
            assertThat(mm.mem().getLong(o + NODE_SIZE - 8)).isEqualTo(~(long) i);
        }

        mm.kmemCacheFree(c, objs.get(3));
        assertThat(mm.slub().onFreelist(c, objs.get(3))).isEqualTo(Slub.OBJECT_ON_FREELIST);
        assertThat(mm.slub().onFreelist(c, objs.get(10))).isEqualTo(Slub.OBJECT_ALLOCATED);
        assertThat(mm.slub().kmemCacheValidate(c)).isEmpty();
        for (long o : objs) {
            if (o != objs.get(3)) {
                mm.kmemCacheFree(c, o);
            }
        }
        assertThat(mm.slub().kmemCacheShrink(c)).as("pages given back").isEqualTo(2);
        assertThat(c.nrPages()).isZero();
        assertThat(c.totalObjects()).isZero();
        assertThat(mm.vmstat().get(VmStatItem.NR_SLAB_RECLAIMABLE_B)).isZero();
    }

    @ParameterizedTest(name = "{0}: falls back {1}")
    @CsvSource({"2.2.1, false", "3.14, true", "4.3, true", "5.3, true"})
    void aFragmentedOrder1CacheFallsBackOnlyWithSlub(String version, boolean fallsBack, Kernels kernels) {
        Kernel k = kernels.boot(b -> b.version(KernelVersion.parse(version)));
        Mm mm = k.mm();
        KmemCache c = mm.kmemCacheCreate("radix_tree_node", NODE_SIZE, 0, 0);
        fragment(k);
        long o = mm.kmemCacheAlloc(c, atomicGfp(k));
        if (fallsBack) {
            assertThat(o).isNotZero();
            assertThat(c.orderFallbacks()).isEqualTo(1);
            assertThat(c.nrPages()).isEqualTo(1);
            mm.kmemCacheFree(c, o);
        } else {
            assertThat(o).as("2.2's slab grows at its one order").isZero();
            assertThat(c.orderFallbacks()).isZero();
            assertThat(c.nrPages()).isZero();
        }
    }

    @Test
    void withAFreeOrder1BlockTheCacheKeepsItsPreferredOrder(Kernel k) {
        Mm mm = k.mm();
        KmemCache c = mm.kmemCacheCreate("radix_tree_node", NODE_SIZE, 0, 0);
        long o = mm.kmemCacheAlloc(c, Gfp.GFP_KERNEL);
        assertThat(c.orderFallbacks()).isZero();
        assertThat(c.nrPages()).isEqualTo(2);
        assertThat(c.totalObjects()).isEqualTo(14);
        assertThat(c.slabinfoLine().split("\\s+")[2]).as("num_objs").isEqualTo("14");
        mm.kmemCacheFree(c, o);
    }
}
