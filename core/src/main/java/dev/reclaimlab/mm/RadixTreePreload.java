package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;

import static dev.reclaimlab.kernel.Errno.ENOMEM;

/**
 * The per-CPU radix tree node preload of lib/radix-tree.c as in Linux 4.3 (struct radix_tree_preload):
 * before a page-cache insert takes the tree lock, radix_tree_maybe_preload() tops this CPU's stack of
 * spare nodes up to {@link #RADIX_TREE_PRELOAD_SIZE} with kmem_cache_alloc(radix_tree_node, gfp) in the
 * caller's gfp, and returns with preemption disabled; the insert then takes its nodes from that stack.
 * So the caller's gfp, not the tree's, decides whether a page-cache fill may enter filesystem reclaim:
 * the "radix tree alloc -> memory reclaim" of seed 001.
 *
 * <p>Per-CPU: a CPU's stack is touched only by the task holding that CPU (getCpu()). The nodes stay
 * allocated objects of radix_tree_node while they wait here, as in the kernel.
 */
public final class RadixTreePreload {
    /** RADIX_TREE_MAP_SHIFT with 64 slots per node. */
    static final int RADIX_TREE_MAP_SHIFT = XArray.XA_CHUNK_SHIFT;
    /** DIV_ROUND_UP(BITS_PER_LONG, RADIX_TREE_MAP_SHIFT): levels a 64-bit index can need. */
    static final int RADIX_TREE_MAX_PATH = (Long.SIZE + RADIX_TREE_MAP_SHIFT - 1) / RADIX_TREE_MAP_SHIFT;
    /** Two branches of the deepest path sharing only the root: the most one insert can take. */
    public static final int RADIX_TREE_PRELOAD_SIZE = RADIX_TREE_MAX_PATH * 2 - 1;
    private static final int PAD = 16;

    private final Kernel kernel;
    private final Mm mm;
    private final KmemCache cache;
    private final long[] nodes;
    private final int[] nr;

    RadixTreePreload(Kernel kernel, Mm mm, KmemCache cache) {
        this.kernel = kernel;
        this.mm = mm;
        this.cache = cache;
        int cpus = kernel.nrCpus();
        this.nodes = new long[cpus * RADIX_TREE_PRELOAD_SIZE];
        this.nr = new int[(cpus + 1) * PAD];
    }

    /**
     * radix_tree_maybe_preload(): with a gfp that may block, {@link #radixTreePreload}; else only disables
     * preemption, and an insert that needs nodes takes them GFP_ATOMIC. Returns 0 with this task's CPU
     * held (end with {@link #radixTreePreloadEnd}), or -ENOMEM with it not held.
     */
    public int radixTreeMaybePreload(int gfp) {
        if (Gfp.allowsBlocking(gfp)) {
            return radixTreePreload(gfp);
        }
        kernel.currentTask().getCpu();
        return 0;
    }

    /**
     * __radix_tree_preload(): fills this CPU's stack to {@link #RADIX_TREE_PRELOAD_SIZE}, letting the CPU
     * go for each allocation (which may sleep in reclaim) and rechecking after it, since the task may come
     * back on another CPU or find the stack filled meanwhile. 0 with the CPU held, or -ENOMEM without.
     */
    int radixTreePreload(int gfp) {
        Task t = kernel.currentTask();
        int cpu = t.getCpu();
        while (nr[(cpu + 1) * PAD] < RADIX_TREE_PRELOAD_SIZE) {
            t.putCpu();
            long node = mm.kmemCacheAlloc(cache, gfp);
            if (node == 0) {
                return -ENOMEM;
            }
            cpu = t.getCpu();
            int n = nr[(cpu + 1) * PAD];
            if (n < RADIX_TREE_PRELOAD_SIZE) {
                nodes[cpu * RADIX_TREE_PRELOAD_SIZE + n] = node;
                nr[(cpu + 1) * PAD] = n + 1;
            } else {
                mm.kmemCacheFree(cache, node);
            }
        }
        return 0;
    }

    /** radix_tree_preload_end(): enables preemption again. */
    public void radixTreePreloadEnd() {
        kernel.currentTask().putCpu();
    }

    /**
     * radix_tree_node_alloc() for a tree whose root gfp cannot block (the page cache's GFP_ATOMIC): a
     * preloaded node of {@code cpu}, which the caller holds, else kmem_cache_alloc(GFP_ATOMIC). 0 if none.
     */
    long radixTreeNodeAlloc(int cpu) {
        int n = nr[(cpu + 1) * PAD];
        if (n > 0) {
            nr[(cpu + 1) * PAD] = n - 1;
            return nodes[cpu * RADIX_TREE_PRELOAD_SIZE + n - 1];
        }
        return mm.kmemCacheAlloc(cache, Gfp.GFP_ATOMIC);
    }

    /**
     * radix_tree_callback(CPU_DEAD): gives {@code cpu}'s spare nodes back to the slab, as the kernel does
     * when a CPU goes offline. Used to account every object at teardown; the caller runs on that CPU for
     * the moment, so no insert can be taking from the stack meanwhile. Returns the nodes freed.
     */
    public int radixTreeCpuDead(int cpu) {
        if (cpu < 0 || cpu >= kernel.nrCpus()) {
            throw new IllegalArgumentException("radix_tree_callback: CPU" + cpu + " does not exist (nr_cpus "
                    + kernel.nrCpus() + ")");
        }
        int[] freed = new int[1];
        kernel.currentTask().runOnCpu(cpu, () -> {
            int n = nr[(cpu + 1) * PAD];
            for (int i = n - 1; i >= 0; i--) {
                mm.kmemCacheFree(cache, nodes[cpu * RADIX_TREE_PRELOAD_SIZE + i]);
                nodes[cpu * RADIX_TREE_PRELOAD_SIZE + i] = 0;
            }
            nr[(cpu + 1) * PAD] = 0;
            freed[0] = n;
        });
        return freed[0];
    }

    /** Nodes waiting in every CPU's stack (racy, for counters and tests). */
    public long preloaded() {
        long s = 0;
        for (int c = 0; c < kernel.nrCpus(); c++) {
            s += nr[(c + 1) * PAD];
        }
        return s;
    }

    /** Nodes waiting in {@code cpu}'s stack (racy). */
    public int preloaded(int cpu) {
        if (cpu < 0 || cpu >= kernel.nrCpus()) {
            throw new IllegalArgumentException("radix_tree_preloads: CPU" + cpu + " does not exist (nr_cpus "
                    + kernel.nrCpus() + ")");
        }
        return nr[(cpu + 1) * PAD];
    }
}
