package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import static dev.reclaimlab.mm.Gfp.GFP_KERNEL;
import static dev.reclaimlab.mm.Gfp.GFP_NOFS;
import static dev.reclaimlab.mm.Gfp.GFP_NOWAIT;
import static dev.reclaimlab.mm.Gfp.__GFP_FS;
import static dev.reclaimlab.mm.Gfp.__GFP_IO;
import static dev.reclaimlab.mm.Gfp.__GFP_RECLAIM;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The page cache's index: lib/xarray.c semantics over off-heap nodes from radix_tree_node. */
@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m", watchdog = false)
class XArrayTest {

    /** Every index the tree holds, in order, found the way truncation walks it. */
    private static List<Long> walk(XArray xa) {
        List<Long> out = new ArrayList<>();
        for (long i = xa.xaFind(0); i >= 0; i = i == Long.MAX_VALUE ? -1 : xa.xaFind(i + 1)) {
            out.add(i);
        }
        return out;
    }

    private static void assertMatches(XArray xa, Map<Long, Long> oracle) {
        for (Map.Entry<Long, Long> e : oracle.entrySet()) {
            assertThat(xa.xaLoad(e.getKey())).as("index %d", e.getKey()).isEqualTo(e.getValue());
        }
        assertThat(xa.nrEntries()).isEqualTo(oracle.size());
        assertThat(walk(xa)).containsExactlyElementsOf(new TreeMap<>(oracle).keySet());
    }

    private static long randomIndex(SplittableRandom r) {
        switch (r.nextInt(4)) {
            case 0:
                return r.nextLong(256);
            case 1:
                return r.nextLong(1 << 20);
            case 2:
                return r.nextLong(Long.MAX_VALUE);
            default:
                return Long.MAX_VALUE - r.nextInt(200);
        }
    }

    @Test
    void randomStoreLoadEraseAgreesWithAHashMapForSparseDenseAndHugeIndexes(Kernel k) {
        XArray xa = new XArray(k.mm(), "oracle");
        Map<Long, Long> oracle = new HashMap<>();
        SplittableRandom r = new SplittableRandom(2015);
        List<Long> keys = new ArrayList<>();
        for (int op = 0; op < 20_000; op++) {
            int what = r.nextInt(10);
            long index = what < 3 && !keys.isEmpty() ? keys.get(r.nextInt(keys.size())) : randomIndex(r);
            if (what < 6) {
                long v = 1 + r.nextLong(Long.MAX_VALUE - 1);
                assertThat(xa.xaStore(index, v, GFP_KERNEL)).isZero();
                if (oracle.put(index, v) == null) {
                    keys.add(index);
                }
            } else if (what < 9) {
                Long old = oracle.remove(index);
                assertThat(xa.xaErase(index)).as("erase %d", index).isEqualTo(old == null ? 0 : old);
            } else {
                assertThat(xa.xaLoad(index)).isEqualTo(oracle.getOrDefault(index, 0L));
            }
            if (op % 2_000 == 0) {
                assertMatches(xa, oracle);
            }
        }
        assertMatches(xa, oracle);
        for (long index : keys) {
            xa.xaErase(index);
        }
        assertThat(xa.nrEntries()).isZero();
        assertThat(xa.nodes()).isZero();
        assertThat(xa.xaFind(0)).isEqualTo(-1);
        assertThat(k.mm().radixTreeNodeCache().activeObjects()).isZero();
    }

    @Test
    void theTreeGrowsForALargeIndexAndShrinksBackWhenItIsErased(Kernel k) {
        XArray xa = new XArray(k.mm(), "height");
        assertThat(xa.xaStore(0, 7, GFP_KERNEL)).isZero();
        assertThat(xa.nodes()).as("index 0 alone lives in the head").isZero();
        assertThat(xa.xaStore(1, 8, GFP_KERNEL)).isZero();
        assertThat(xa.nodes()).isEqualTo(1);
        assertThat(xa.rootShift()).isZero();
        assertThat(xa.xaStore(Long.MAX_VALUE, 9, GFP_KERNEL)).isZero();
        // Ten levels above the old leaf, then ten new nodes down to MAX_VALUE's leaf.
        assertThat(xa.rootShift()).isEqualTo(60);
        assertThat(xa.nodes()).isEqualTo(21);
        assertThat(walk(xa)).containsExactly(0L, 1L, Long.MAX_VALUE);
        assertThat(xa.xaErase(Long.MAX_VALUE)).isEqualTo(9);
        assertThat(xa.rootShift()).isZero();
        assertThat(xa.nodes()).isEqualTo(1);
        assertThat(xa.xaErase(1)).isEqualTo(8);
        assertThat(xa.rootShift()).isEqualTo(-1);
        assertThat(xa.nodes()).isZero();
        assertThat(xa.xaLoad(0)).isEqualTo(7);
        assertThat(xa.xaErase(0)).isEqualTo(7);
        assertThat(k.mm().radixTreeNodeCache().activeObjects()).isZero();
    }

    @Test
    void xaFindSkipsEmptySubtreesAndFullLastSlots(Kernel k) {
        XArray xa = new XArray(k.mm(), "find");
        long[] idx = {63, 64 * 64 - 1, 64 * 64, 1L << 30, (1L << 42) + 5, Long.MAX_VALUE};
        for (long i : idx) {
            assertThat(xa.xaStore(i, i + 1, GFP_KERNEL)).isZero();
        }
        for (long i : idx) {
            assertThat(xa.xaFind(i)).isEqualTo(i);
        }
        assertThat(xa.xaFind(0)).isEqualTo(63);
        assertThat(xa.xaFind(64)).isEqualTo(64 * 64 - 1);
        assertThat(xa.xaFind(64 * 64 + 1)).isEqualTo(1L << 30);
        assertThat(xa.xaFind((1L << 42) + 6)).isEqualTo(Long.MAX_VALUE);
        xa.xaErase(Long.MAX_VALUE);
        assertThat(xa.xaFind((1L << 42) + 6)).isEqualTo(-1);
        assertThat(xa.xaFind(Long.MAX_VALUE)).isEqualTo(-1);
        xa.xaDestroy();
    }

    @Test
    void xaDestroyFreesEveryNodeBackToRadixTreeNode(Kernel k) {
        KmemCache cache = k.mm().radixTreeNodeCache();
        assertThat(cache.name()).isEqualTo("radix_tree_node");
        XArray xa = new XArray(k.mm(), "evicted-inode");
        SplittableRandom r = new SplittableRandom(73);
        for (int i = 0; i < 3_000; i++) {
            assertThat(xa.xaStore(i < 1_000 ? i : randomIndex(r), 1 + i, GFP_KERNEL)).isZero();
        }
        assertThat(xa.nodes()).isGreaterThan(100);
        assertThat(cache.activeObjects()).isEqualTo(xa.nodes());
        xa.xaDestroy();
        assertThat(cache.activeObjects()).isZero();
        assertThat(xa.nodes()).isZero();
    }

    /** Exhausts free pages down to the min watermark and returns them; nothing can be reclaimed. */
    private static List<Integer> exhaustPages(Mm mm) {
        List<Integer> parked = new ArrayList<>();
        for (int pfn; (pfn = mm.allocPages(GFP_NOWAIT, 0)) != PageAlloc.NULL_PAGE; ) {
            parked.add(pfn);
        }
        return parked;
    }

    /** Takes every free radix_tree_node object this CPU could reach, so the next node needs a new slab. */
    private static List<Long> drainNodeCache(Mm mm) {
        List<Long> objs = new ArrayList<>();
        for (long o; (o = mm.kmemCacheAlloc(mm.radixTreeNodeCache(), GFP_NOWAIT)) != 0; ) {
            objs.add(o);
        }
        return objs;
    }

    @Test
    void aGfpNowaitStoreWithMemoryExhaustedFailsWithEnomemAndLeavesTheTreeUnchanged(Kernel k) {
        Mm mm = k.mm();
        XArray xa = new XArray(mm, "mapping");
        Map<Long, Long> oracle = new HashMap<>();
        for (long i = 0; i < 200; i++) {
            oracle.put(i * 3, i + 1);
            assertThat(xa.xaStore(i * 3, i + 1, GFP_KERNEL)).isZero();
        }
        long nodes = xa.nodes();
        int shift = xa.rootShift();
        List<Integer> pages = exhaustPages(mm);
        List<Long> objs = drainNodeCache(mm);

        assertThat(xa.xaStore(1L << 40, 5, GFP_NOWAIT)).as("needs a taller tree").isEqualTo(-Errno.ENOMEM);
        assertThat(xa.xaStore(4_000, 5, GFP_NOWAIT)).as("needs a new leaf").isEqualTo(-Errno.ENOMEM);
        assertThat(xa.nodes()).isEqualTo(nodes);
        assertThat(xa.rootShift()).isEqualTo(shift);
        assertThat(xa.xaLoad(1L << 40)).isZero();
        assertThat(xa.xaLoad(4_000)).isZero();
        assertMatches(xa, oracle);
        assertThat(mm.radixTreeNodeCache().activeObjects()).isEqualTo(nodes + objs.size());

        // A slot in an existing leaf needs no memory.
        assertThat(xa.xaStore(4, 99, GFP_NOWAIT)).isZero();
        oracle.put(4L, 99L);
        assertMatches(xa, oracle);

        for (long o : objs) {
            mm.kmemCacheFree(mm.radixTreeNodeCache(), o);
        }
        for (int pfn : pages) {
            mm.freePages(pfn, 0);
        }
        assertThat(xa.xaStore(1L << 40, 5, GFP_NOWAIT)).isZero();
        assertThat(xa.xaLoad(1L << 40)).isEqualTo(5);
        xa.xaDestroy();
        assertThat(mm.radixTreeNodeCache().activeObjects()).isZero();
    }

    @ParameterizedTest
    @ValueSource(ints = {GFP_NOFS, GFP_KERNEL})
    void theGfpOfAnInsertReachesDirectReclaimThroughTheRadixTreeNodeAllocation(int gfp, Kernel k) {
        Mm mm = k.mm();
        XArray xa = new XArray(mm, "image-file");
        assertThat(xa.xaStore(0, 1, GFP_KERNEL)).isZero();
        List<Integer> parked = exhaustPages(mm);
        List<Long> objs = drainNodeCache(mm);
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

        assertThat(xa.xaStore(1L << 20, 2, gfp)).isZero();

        assertThat(seen).as("direct reclaim entered for %s", Gfp.format(gfp)).isNotEmpty();
        // The slab adds __GFP_COMP and __GFP_RECLAIMABLE; what reclaim may do is the caller's.
        for (int g : seen) {
            assertThat(Gfp.format(g & (__GFP_RECLAIM | __GFP_IO | __GFP_FS))).isEqualTo(Gfp.format(gfp));
        }
        assertThat(stacks.get(0)).contains("XArray.xaStore").contains("Slub.kmemCacheAlloc");
        assertThat(xa.xaLoad(1L << 20)).isEqualTo(2);
        mm.pageAlloc().setReclaimHooks(null);
        for (long o : objs) {
            mm.kmemCacheFree(mm.radixTreeNodeCache(), o);
        }
        xa.xaDestroy();
        assertThat(mm.radixTreeNodeCache().activeObjects()).isZero();
    }

    @Test
    @Timeout(60)
    void twoTasksStoringAndErasingDisjointRangesKeepOneConsistentTree(Kernel k) throws Exception {
        XArray xa = new XArray(k.mm(), "shared");
        long[] bases = {0, 1L << 40};
        List<Map<Long, Long>> oracles = List.of(new HashMap<>(), new HashMap<>());
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            int id = t;
            Thread th = new Thread(() -> {
                try {
                    k.currentTask();
                    start.await();
                    churn(xa, bases[id], oracles.get(id), new SplittableRandom(id));
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "xa-churn" + t);
            threads.add(th);
            th.start();
        }
        start.countDown();
        for (Thread th : threads) {
            th.join();
        }
        if (failure.get() != null) {
            throw new AssertionError("a churning task failed", failure.get());
        }
        Map<Long, Long> all = new HashMap<>(oracles.get(0));
        all.putAll(oracles.get(1));
        assertMatches(xa, all);
        assertThat(k.mm().radixTreeNodeCache().activeObjects()).isEqualTo(xa.nodes());
        xa.xaDestroy();
        assertThat(k.mm().radixTreeNodeCache().activeObjects()).isZero();
    }

    /** One task's share: random stores and erases in [base, base + 2^20), checking its own entries. */
    private static void churn(XArray xa, long base, Map<Long, Long> mine, SplittableRandom r) {
        for (int op = 0; op < 30_000; op++) {
            long index = base + (r.nextBoolean() ? r.nextLong(4096) : r.nextLong(1 << 20));
            if (r.nextInt(3) < 2) {
                long v = 1 + r.nextLong(1L << 40);
                if (xa.xaStore(index, v, GFP_KERNEL) != 0) {
                    throw new AssertionError("GFP_KERNEL store failed at " + index);
                }
                mine.put(index, v);
            } else {
                Long old = mine.remove(index);
                long got = xa.xaErase(index);
                if (got != (old == null ? 0 : old)) {
                    throw new AssertionError("erase " + index + " returned " + got + ", expected " + old);
                }
            }
            long check = base + r.nextLong(4096);
            long want = mine.getOrDefault(check, 0L);
            if (xa.xaLoad(check) != want) {
                throw new AssertionError("load " + check + " != " + want);
            }
        }
    }

    @Test
    void badInputAndUseAfterDestroyThrowNamingTheArray(Kernel k) {
        XArray xa = new XArray(k.mm(), "bad-inode");
        assertThatThrownBy(() -> xa.xaStore(-1, 1, GFP_KERNEL)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bad-inode").hasMessageContaining("negative");
        assertThatThrownBy(() -> xa.xaLoad(-5)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bad-inode");
        assertThatThrownBy(() -> xa.xaStore(3, 0, GFP_KERNEL)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bad-inode").hasMessageContaining("value 0");
        assertThatThrownBy(() -> xa.xaStore(3, 1, 1 << 30)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bad-inode").hasMessageContaining("unknown bits");
        assertThat(xa.xaStore(3, 4, GFP_KERNEL)).isZero();
        xa.xaDestroy();
        assertThatThrownBy(() -> xa.xaLoad(3)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("bad-inode").hasMessageContaining("destroyed");
        assertThatThrownBy(() -> xa.xaStore(3, 4, GFP_KERNEL)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("bad-inode");
        assertThatThrownBy(() -> xa.xaErase(3)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(xa::xaDestroy).isInstanceOf(IllegalStateException.class);
        assertThat(k.mm().radixTreeNodeCache().activeObjects()).isZero();
    }

    @Test
    void insertFillsOnlyAnEmptySlotAndLeavesAnExistingEntry(Kernel k) {
        XArray xa = new XArray(k.mm(), "insert");
        assertThat(xa.xaInsert(70_000, 5, Gfp.GFP_KERNEL)).isZero();
        assertThat(xa.xaInsert(70_000, 6, Gfp.GFP_KERNEL)).isEqualTo(-Errno.EEXIST);
        assertThat(xa.xaLoad(70_000)).isEqualTo(5);
        assertThat(xa.nrEntries()).isEqualTo(1);
        xa.xaErase(70_000);
        assertThat(xa.xaInsert(70_000, 6, Gfp.GFP_KERNEL)).isZero();
        assertThat(xa.xaLoad(70_000)).isEqualTo(6);
        xa.xaDestroy();
    }
}
