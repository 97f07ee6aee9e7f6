package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;

import static dev.reclaimlab.mm.Gfp.GFP_KERNEL;
import static dev.reclaimlab.mm.Gfp.GFP_NOFS;
import static dev.reclaimlab.mm.Gfp.__GFP_FS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "32m")
class ShrinkSlabTest {

    /** A superblock-like shrinker over a kmem cache: bails out without __GFP_FS as super_cache_scan() does. */
    private static final class CacheShrinker implements Shrinker {
        final Mm mm;
        final KmemCache cache;
        final List<Long> objects = new ArrayList<>();
        final List<Long> scanRequests = new ArrayList<>();

        CacheShrinker(Mm mm, int n) {
            this.mm = mm;
            this.cache = mm.kmemCacheCreate("inode_cache", 600, 0, SlabFlags.SLAB_RECLAIM_ACCOUNT);
            for (int i = 0; i < n; i++) {
                objects.add(mm.kmemCacheAlloc(cache, GFP_KERNEL));
            }
        }

        @Override
        public String name() {
            return "super_cache_scan-test";
        }

        @Override
        public long countObjects(ShrinkControl sc) {
            return objects.size();
        }

        @Override
        public long scanObjects(ShrinkControl sc) {
            if ((sc.gfpMask & __GFP_FS) == 0) {
                return SHRINK_STOP;
            }
            scanRequests.add(sc.nrToScan);
            long freed = 0;
            while (freed < sc.nrToScan && !objects.isEmpty()) {
                mm.kmemCacheFree(cache, objects.remove(objects.size() - 1));
                freed++;
            }
            return freed;
        }
    }

    @Test
    void fsShrinkerFreesNothingUnderGfpNofsAndCatchesUpLater(Kernel k) {
        Mm mm = k.mm();
        CacheShrinker s = new CacheShrinker(mm, 4096);
        mm.shrinkers().registerShrinker(s);
        assertThat(mm.shrinkSlab(GFP_NOFS, 0)).isZero();
        assertThat(s.objects).hasSize(4096);
        assertThat(s.scanRequests).isEmpty();
        long freed = mm.shrinkSlab(GFP_KERNEL, 6);
        // priority 6: (4096 >> 6) * 4 / 2 = 128 new, plus (8192 deferred >> 6) = 128 owed from GFP_NOFS.
        assertThat(freed).isEqualTo(256);
        assertThat(s.scanRequests).allMatch(n -> n <= Shrinker.SHRINK_BATCH);
        assertThat(mm.vmstat().get(VmStatItem.SLABS_SCANNED)).isEqualTo(freed);
        mm.shrinkers().unregisterShrinker(s);
    }

    @Test
    void lowerPriorityScansMore(Kernel k) {
        Mm mm = k.mm();
        CacheShrinker s = new CacheShrinker(mm, 8192);
        mm.shrinkers().registerShrinker(s);
        long atDef = mm.shrinkSlab(GFP_KERNEL, 12);
        long at6 = mm.shrinkSlab(GFP_KERNEL, 6);
        long at0 = mm.shrinkSlab(GFP_KERNEL, 0);
        assertThat(atDef).isLessThan(at6);
        assertThat(at6).isLessThan(at0);
        assertThat(s.objects).isEmpty();
        assertThat(mm.slub().kmemCacheShrink(s.cache)).isGreaterThan(0);
        assertThat(mm.vmstat().get(VmStatItem.NR_SLAB_RECLAIMABLE_B)).isZero();
        assertThatThrownBy(() -> mm.shrinkers().registerShrinker(s)).hasMessageContaining("already registered");
        assertThatThrownBy(() -> mm.shrinkSlab(GFP_KERNEL, 13)).hasMessageContaining("priority 13");
    }

    /** A shrinker of {@code freeable} objects that counts what it is asked to scan and frees nothing. */
    private static class Counting implements Shrinker {
        final long freeable;
        long asked;

        Counting(long freeable) {
            this.freeable = freeable;
        }

        @Override
        public String name() {
            return "counting";
        }

        @Override
        public long countObjects(ShrinkControl sc) {
            return freeable;
        }

        @Override
        public long scanObjects(ShrinkControl sc) {
            asked += sc.nrToScan;
            return 0;
        }
    }

    @Test
    void deferredWorkCannotPushAPassWithLittleNewPressurePastHalfTheCacheAs43Clamps() {
        Counting s = new Counting(1000);
        java.util.concurrent.atomic.AtomicLong deferred = new java.util.concurrent.atomic.AtomicLong(5000);
        // 4 * 32 / 2 * 1000 / (100000 + 1) = 0 new objects: under freeable / 4, so at most freeable / 2.
        ShrinkerList.doShrinkSlab(s, GFP_KERNEL, -1, 32, 100_000, deferred, null);
        assertThat(s.asked).as("batches of 128 out of 500").isEqualTo(384);
        assertThat(deferred.get()).as("the rest of the clamped pass stays deferred").isEqualTo(500 - 384);
    }

    @Test
    void aPassWithRealPressureScansUpToTwiceTheCacheWithItsDeferredWork() {
        Counting s = new Counting(1000);
        java.util.concurrent.atomic.AtomicLong deferred = new java.util.concurrent.atomic.AtomicLong(5000);
        // 4 * 250 / 2 * 1000 / 1001 = 499 new: not under freeable / 4, so no clamp but 2 x freeable.
        ShrinkerList.doShrinkSlab(s, GFP_KERNEL, -1, 250, 1000, deferred, null);
        assertThat(s.asked).isEqualTo(1920);
        assertThat(deferred.get()).isEqualTo(2000 - 1920);
    }

    @Test
    void aShrinkerThatStopsKeepsItsWholePassDeferred() {
        Shrinker stop = new Counting(10_000) {
            @Override
            public long scanObjects(ShrinkControl sc) {
                return SHRINK_STOP;
            }
        };
        java.util.concurrent.atomic.AtomicLong deferred = new java.util.concurrent.atomic.AtomicLong();
        ShrinkerList.doShrinkSlab(stop, GFP_NOFS, -1, 10_000, 1000, deferred, null);
        assertThat(deferred.get()).isEqualTo(20_000);
    }
}
