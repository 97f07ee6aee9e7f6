package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.FaultAttr;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;

/**
 * failslab (mm/failslab.c, as in Linux 4.3): makes kmem_cache_alloc() and kmalloc() from a cache return
 * NULL. Never for __GFP_NOFAIL; with {@code ignore-gfp-wait} (the default) only allocations that may
 * not sleep fail; with {@code cache-filter} only caches marked failslab
 * (/sys/kernel/slab/CACHE/failslab, {@link KmemCache#setFailslab}). The request size is the object size.
 */
public final class Failslab {
    private final Kernel kernel;
    private final FaultAttr attr = new FaultAttr("failslab");
    private volatile boolean ignoreGfpWait = true;
    private volatile boolean cacheFilter;

    Failslab(Kernel kernel) {
        this.kernel = kernel;
    }

    public FaultAttr attr() {
        return attr;
    }

    public boolean ignoreGfpWait() {
        return ignoreGfpWait;
    }

    /** ignore-gfp-wait: leave allocations that may enter direct reclaim alone. */
    public Failslab ignoreGfpWait(boolean on) {
        this.ignoreGfpWait = on;
        return this;
    }

    public boolean cacheFilter() {
        return cacheFilter;
    }

    /** cache-filter: fail only caches whose failslab attribute is set. */
    public Failslab cacheFilter(boolean on) {
        this.cacheFilter = on;
        return this;
    }

    /** should_failslab(): the slab allocation hook, after might_sleep. Callers test probability() first. */
    boolean shouldFailslab(Task t, KmemCache s, int gfp) {
        if ((gfp & Gfp.__GFP_NOFAIL) != 0) {
            return false;
        }
        if (ignoreGfpWait && (gfp & Gfp.__GFP_DIRECT_RECLAIM) != 0) {
            return false;
        }
        if (cacheFilter && !s.failslab()) {
            return false;
        }
        return attr.shouldFail(t, s.objectSize, kernel);
    }

    /** The files failslab adds to its fault_attr directory. */
    public String read(String file) {
        switch (file) {
            case "ignore-gfp-wait":
                return ignoreGfpWait ? "Y" : "N";
            case "cache-filter":
                return cacheFilter ? "Y" : "N";
            default:
                return attr.read(file);
        }
    }

    public void write(String file, String value) {
        switch (file) {
            case "ignore-gfp-wait":
                ignoreGfpWait = FaultAttr.parseBool(value, "failslab/" + file);
                break;
            case "cache-filter":
                cacheFilter = FaultAttr.parseBool(value, "failslab/" + file);
                break;
            default:
                attr.write(file, value);
        }
    }

    @Override
    public String toString() {
        return attr + " ignore-gfp-wait=" + (ignoreGfpWait ? "Y" : "N") + " cache-filter=" + (cacheFilter ? "Y" : "N");
    }
}
