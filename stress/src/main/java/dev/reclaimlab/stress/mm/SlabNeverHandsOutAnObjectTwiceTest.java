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
import org.openjdk.jcstress.infra.results.I_Result;

import java.util.concurrent.atomic.AtomicLong;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Proves SLUB's exclusion: an object is owned by one allocation at a time. Two tasks allocate from one
 * cache at once, each on whichever emulated CPU it gets, so they race on a shared CPU's freelist (the CPU
 * slot must serialise them), or on two CPUs for the same partial slab (list_lock and slab_lock must). Each
 * stamps its object; the arbiter, while both are still allocated, sees two distinct objects that kept
 * their own stamps. A stamp overwritten means a third allocation in the same stride got the object too.
 *
 * <p>{@link FreeThenAlloc} frees an object first, allocated on the constructor's CPU: on the CPU that owns
 * its slab that is the lockless freelist push, elsewhere the remote free under slab_lock; the allocation
 * right after may pop that very object, so the free must be complete before it can be handed out.
 */
public class SlabNeverHandsOutAnObjectTwiceTest {
    static final int DISTINCT = 0;
    static final int SAME_OBJECT = 1;
    static final int STAMP_OVERWRITTEN = 2;
    static final int ALLOC_FAILED = 3;

    // One kernel per JVM: jcstress never closes states, and makes thousands.
    static final Kernel KERNEL = Kernel.boot(KernelConfig.builder().memory("64m").cpus(2).build());
    static final Slub SLUB = KERNEL.mm().slub();
    static final PhysMem MEM = KERNEL.mm().mem();
    static final KmemCache CACHE = SLUB.kmemCacheCreate("jcstress_twice", 64, 0, 0);
    static final AtomicLong STAMPS = new AtomicLong(1);

    static long allocStamped(long stamp) {
        long obj = SLUB.kmemCacheAlloc(CACHE, Gfp.GFP_KERNEL);
        if (obj != 0) {
            MEM.putLong(obj, stamp);
        }
        return obj;
    }

    /** Classifies a state's two objects and frees them. */
    static int checkAndFree(long a, long stampA, long b, long stampB) {
        int r;
        if (a == 0 || b == 0) {
            r = ALLOC_FAILED;
        } else if (a == b) {
            r = SAME_OBJECT;
        } else if (MEM.getLong(a) != stampA || MEM.getLong(b) != stampB) {
            r = STAMP_OVERWRITTEN;
        } else {
            r = DISTINCT;
        }
        if (a != 0) {
            SLUB.kmemCacheFree(CACHE, a);
        }
        if (b != 0 && b != a) {
            SLUB.kmemCacheFree(CACHE, b);
        }
        return r;
    }

    @JCStressTest
    @Description("Two concurrent kmem_cache_alloc() calls never return the same object.")
    @Outcome(id = "0", expect = ACCEPTABLE, desc = "Two distinct objects, each still holding its owner's stamp.")
    @Outcome(id = "1", expect = FORBIDDEN, desc = "Both allocations returned the same object.")
    @Outcome(id = "2", expect = FORBIDDEN, desc = "An object was handed to another allocation while still live.")
    @Outcome(id = "3", expect = FORBIDDEN, desc = "Allocation failed: objects leak, the kernel cannot run out here.")
    @State
    public static class Alloc {
        final long stampA = STAMPS.getAndAdd(2);
        final long stampB = stampA + 1;
        long a;
        long b;

        @Actor
        public void actor1() {
            a = allocStamped(stampA);
        }

        @Actor
        public void actor2() {
            b = allocStamped(stampB);
        }

        @Arbiter
        public void arbiter(I_Result r) {
            r.r1 = checkAndFree(a, stampA, b, stampB);
        }
    }

    @JCStressTest
    @Description("kmem_cache_free() then kmem_cache_alloc() on two tasks at once never hands out one object twice.")
    @Outcome(id = "0", expect = ACCEPTABLE, desc = "Two distinct objects, each still holding its owner's stamp.")
    @Outcome(id = "1", expect = FORBIDDEN, desc = "Both allocations returned the same object.")
    @Outcome(id = "2", expect = FORBIDDEN, desc = "An object was handed to another allocation while still live.")
    @Outcome(id = "3", expect = FORBIDDEN, desc = "Allocation failed: objects leak, the kernel cannot run out here.")
    @State
    public static class FreeThenAlloc {
        final long stampA = STAMPS.getAndAdd(2);
        final long stampB = stampA + 1;
        final long p = SLUB.kmemCacheAlloc(CACHE, Gfp.GFP_KERNEL);
        final long q = SLUB.kmemCacheAlloc(CACHE, Gfp.GFP_KERNEL);
        long a;
        long b;

        @Actor
        public void actor1() {
            SLUB.kmemCacheFree(CACHE, p);
            a = allocStamped(stampA);
        }

        @Actor
        public void actor2() {
            SLUB.kmemCacheFree(CACHE, q);
            b = allocStamped(stampB);
        }

        @Arbiter
        public void arbiter(I_Result r) {
            r.r1 = checkAndFree(a, stampA, b, stampB);
        }
    }
}
