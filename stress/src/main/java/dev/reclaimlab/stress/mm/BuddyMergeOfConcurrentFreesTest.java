package dev.reclaimlab.stress.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelConfig;
import dev.reclaimlab.locking.RawSpinLock;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.PageAlloc;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.I_Result;

import java.util.Arrays;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Proves __free_one_page()'s exclusion under zone->lock: two tasks free the two halves of an order-2
 * region, order-1 buddies A and A^2, at the same time; whichever takes zone->lock second must see the
 * other half already on the order-1 free list and merge, so the two never stay free side by side. The
 * arbiter asks the allocator which free block holds each half, and cross-checks the free-list counters
 * against NR_FREE_PAGES.
 *
 * <p>Every state shares the class's one kernel (jcstress never closes states), so other states allocate
 * from it concurrently: the merged block may be split and handed out again before the arbiter looks.
 */
@JCStressTest
@Description("Concurrent frees of two order-1 buddies merge into one free block of order >= 2.")
@Outcome(id = "0", expect = ACCEPTABLE, desc = "Merged: both halves lie in one free block of order >= 2.")
@Outcome(id = "1", expect = ACCEPTABLE_INTERESTING, desc = "Merged, then split and (partly) allocated again by"
        + " another state before the arbiter looked.")
@Outcome(id = "2", expect = FORBIDDEN, desc = "Halves left unmerged: two free order-1 buddies.")
@Outcome(id = "3", expect = FORBIDDEN, desc = "Inconsistent: the free lists do not add up to NR_FREE_PAGES.")
@State
public class BuddyMergeOfConcurrentFreesTest {
    static final int MERGED = 0;
    static final int REUSED = 1;
    static final int UNMERGED = 2;
    static final int INCONSISTENT = 3;

    // One kernel per JVM. Up to 256 x 40 states live at once, each holding 16 KiB until its actors run.
    static final Kernel KERNEL = Kernel.boot(KernelConfig.builder().memory("256m").cpus(2).build());
    static final PageAlloc PAGES = KERNEL.mm().pageAlloc();
    static final int MAX_TRIES = 1024;
    // jcstress builds states on both actor threads at once; interleaved, each thread's order-1 blocks would
    // be every other half of each split, and its buddies always in the other thread's stash.
    static final RawSpinLock SETUP = new RawSpinLock("jcstress buddy setup");

    final int a;
    final int b;

    public BuddyMergeOfConcurrentFreesTest() {
        SETUP.lock();
        try {
            int[] pair = findBuddies();
            a = pair[0];
            b = pair[1];
        } finally {
            SETUP.unlock();
        }
    }

    /** Order-1 blocks until two are buddies: usually the first two, the halves of one split. */
    private static int[] findBuddies() {
        int[] stash = new int[16];
        int n = 0;
        int first = -1;
        int second = -1;
        while (first < 0) {
            if (n == MAX_TRIES) {
                throw new IllegalStateException("no order-1 buddies in " + MAX_TRIES + " allocations: "
                        + PAGES.buddyinfo());
            }
            // GFP_NOWAIT: nothing sleeps under a spinlock.
            int pfn = PAGES.allocPages(Gfp.GFP_NOWAIT, 1);
            if (pfn == PageAlloc.NULL_PAGE) {
                throw new IllegalStateException("order-1 allocation failed: " + PAGES.buddyinfo());
            }
            for (int i = 0; i < n; i++) {
                if (stash[i] == (pfn ^ 2)) {
                    first = stash[i];
                    second = pfn;
                    stash[i] = stash[--n];
                    break;
                }
            }
            if (first < 0) {
                if (n == stash.length) {
                    stash = Arrays.copyOf(stash, n * 2);
                }
                stash[n++] = pfn;
            }
        }
        for (int pfn : Arrays.copyOf(stash, n)) {
            PAGES.freePages(pfn, 1);
        }
        return new int[] {first, second};
    }

    @Actor
    public void actor1() {
        PAGES.freePages(a, 1);
    }

    @Actor
    public void actor2() {
        PAGES.freePages(b, 1);
    }

    @Arbiter
    public void arbiter(I_Result r) {
        int oa;
        int ob;
        try {
            oa = PAGES.freeBlockOrderContaining(a);
            ob = PAGES.freeBlockOrderContaining(b);
        } catch (IllegalStateException unmerged) {
            System.err.println(unmerged.getMessage());
            r.r1 = UNMERGED;
            return;
        }
        String bad = PAGES.checkFreeArea();
        if (bad != null) {
            System.err.println(bad);
            r.r1 = INCONSISTENT;
        } else if (oa >= 2 && ob >= 2) {
            // An aligned free block of order >= 2 holding one half holds the other.
            r.r1 = MERGED;
        } else {
            r.r1 = REUSED;
        }
    }
}
