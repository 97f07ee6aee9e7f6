package dev.reclaimlab.stress.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelConfig;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.KmemCache;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.mm.Slub;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

import java.util.Arrays;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Proves that SLUB's remote free and its owner CPU's slab handling exclude each other under slab_lock: an
 * object x of the slab CPU0 allocates from is freed on CPU1 (onto the slab's own freelist, under
 * slab_lock) while CPU0 keeps allocating and freeing on that slab, so it runs out and takes the remote
 * frees (get_freelist), unfreezes the full slab, or moves to a partial one. Afterwards x must be free and
 * reachable from a freelist of its slab, and the slab's own freelist must hold objects - inuse objects.
 * A free that one side overwrote (a freelist head or inuse written outside slab_lock) shows as x tagged
 * free on no freelist.
 *
 * <p>{@link Deactivate} flushes the CPU slabs (deactivate_slab) right after the churn, racing the remote
 * free's list decisions (full slab to the partial list) against the CPU freelist merged back into the slab.
 * A pin object of x's slab stays allocated until the arbiter has looked, so the slab is never discarded.
 */
public class RemoteFreeIsNeverLostTest {
    static final int OWNER_CPU = 0;
    static final int REMOTE_CPU = 1;

    // One kernel per JVM: jcstress never closes states, and makes thousands.
    static final Kernel KERNEL = Kernel.boot(KernelConfig.builder().memory("64m").cpus(2).build());
    static final Slub SLUB = KERNEL.mm().slub();
    static final PhysMem MEM = KERNEL.mm().mem();
    // 15 objects an order-1 slab: the owner's churn crosses a slab every state.
    static final KmemCache CACHE = SLUB.kmemCacheCreate("jcstress_remote", 512, 0, 0);
    static final int CHURN = CACHE.objectsPerSlab() + 1;

    /** GFP_NOWAIT: these run with the CPU held (runOnCpu), where nothing may sleep. */
    static long alloc() {
        long obj = SLUB.kmemCacheAlloc(CACHE, Gfp.GFP_NOWAIT);
        if (obj == 0) {
            throw new IllegalStateException("kmem_cache_alloc(" + CACHE + ") failed:\n" + SLUB.slabinfo());
        }
        return obj;
    }

    static int slabOf(long obj) {
        return MEM.virtToPfn(obj) & -(1 << CACHE.order());
    }

    /** x and its slab's pin, allocated on OWNER_CPU; the variants add the actors. */
    public abstract static class Victim {
        long x;
        long pin;
        boolean ownerTookX;

        public Victim() {
            KERNEL.currentTask().runOnCpu(OWNER_CPU, () -> {
                // Partial slabs with one free object each would hand out a, b from two slabs for ever if a
                // went back each time (LIFO partial list): hold the misses until the pair is found.
                long[] missed = new long[8];
                int n = 0;
                long a = alloc();
                long b = alloc();
                while (slabOf(a) != slabOf(b)) {
                    if (n == missed.length) {
                        missed = Arrays.copyOf(missed, n * 2);
                    }
                    missed[n++] = a;
                    a = b;
                    b = alloc();
                }
                x = a;
                pin = b;
                for (int i = 0; i < n; i++) {
                    SLUB.kmemCacheFree(CACHE, missed[i]);
                }
            });
        }

        void ownerChurn() {
            KERNEL.currentTask().runOnCpu(OWNER_CPU, () -> {
                long[] objs = new long[CHURN];
                for (int i = 0; i < CHURN; i++) {
                    objs[i] = alloc();
                    ownerTookX |= objs[i] == x;
                }
                for (long obj : objs) {
                    SLUB.kmemCacheFree(CACHE, obj);
                }
            });
        }

        void remoteFree() {
            KERNEL.currentTask().runOnCpu(REMOTE_CPU, () -> SLUB.kmemCacheFree(CACHE, x));
        }

        void judge(II_Result r) {
            r.r1 = SLUB.onFreelist(CACHE, x);
            r.r2 = ownerTookX ? 1 : 0;
            SLUB.kmemCacheFree(CACHE, pin);
        }
    }

    @JCStressTest
    @Description("A remote kmem_cache_free() racing the owner CPU's get_freelist() is never lost.")
    @Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "x is free, on a freelist of its slab.")
    @Outcome(id = "1, 1", expect = ACCEPTABLE_INTERESTING, desc = "The owner took the remote free, handed x out"
            + " again and freed it: x is free, on a freelist.")
    @Outcome(id = {"0, 0", "0, 1"}, expect = ACCEPTABLE_INTERESTING, desc = "x was free, then allocated again by"
            + " a state made while the arbiters ran.")
    @Outcome(id = {"2, 0", "2, 1"}, expect = FORBIDDEN, desc = "Lost: x is tagged free but on no freelist.")
    @Outcome(id = {"3, 0", "3, 1"}, expect = FORBIDDEN, desc = "Corrupt: a freelist reaches an allocated object,"
            + " loops, or does not hold objects - inuse.")
    @State
    public static class TakeRemoteFrees extends Victim {
        @Actor
        public void owner() {
            ownerChurn();
        }

        @Actor
        public void remote() {
            remoteFree();
        }

        @Arbiter
        public void arbiter(II_Result r) {
            judge(r);
        }
    }

    @JCStressTest
    @Description("A remote kmem_cache_free() racing deactivate_slab() of the owner CPU's slab is never lost.")
    @Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "x is free, on a freelist of its slab.")
    @Outcome(id = "1, 1", expect = ACCEPTABLE_INTERESTING, desc = "The owner took the remote free, handed x out"
            + " again and freed it: x is free, on a freelist.")
    @Outcome(id = {"0, 0", "0, 1"}, expect = ACCEPTABLE_INTERESTING, desc = "x was free, then allocated again by"
            + " a state made while the arbiters ran.")
    @Outcome(id = {"2, 0", "2, 1"}, expect = FORBIDDEN, desc = "Lost: x is tagged free but on no freelist.")
    @Outcome(id = {"3, 0", "3, 1"}, expect = FORBIDDEN, desc = "Corrupt: a freelist reaches an allocated object,"
            + " loops, or does not hold objects - inuse.")
    @State
    public static class Deactivate extends Victim {
        @Actor
        public void owner() {
            ownerChurn();
            SLUB.kmemCacheShrink(CACHE);
        }

        @Actor
        public void remote() {
            remoteFree();
        }

        @Arbiter
        public void arbiter(II_Result r) {
            judge(r);
        }
    }
}
