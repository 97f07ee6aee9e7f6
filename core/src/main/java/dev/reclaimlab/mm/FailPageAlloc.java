package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.FaultAttr;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;

/**
 * fail_page_alloc (mm/page_alloc.c, as in Linux 4.3): makes alloc_pages() return NULL before it looks at
 * a free list. Never for __GFP_NOFAIL or below {@code min-order} (1 by default, so order-0 allocations
 * are spared unless asked); with {@code ignore-gfp-wait} (default on) only allocations that may not
 * sleep fail, with {@code ignore-gfp-highmem} (default on) none with __GFP_HIGHMEM (user and page-cache
 * pages). The request size is the number of pages.
 */
public final class FailPageAlloc {
    private final Kernel kernel;
    private final FaultAttr attr = new FaultAttr("fail_page_alloc");
    private volatile boolean ignoreGfpWait = true;
    private volatile boolean ignoreGfpHighmem = true;
    private volatile int minOrder = 1;

    FailPageAlloc(Kernel kernel) {
        this.kernel = kernel;
    }

    public FaultAttr attr() {
        return attr;
    }

    public FailPageAlloc ignoreGfpWait(boolean on) {
        this.ignoreGfpWait = on;
        return this;
    }

    public boolean ignoreGfpWait() {
        return ignoreGfpWait;
    }

    public FailPageAlloc ignoreGfpHighmem(boolean on) {
        this.ignoreGfpHighmem = on;
        return this;
    }

    public boolean ignoreGfpHighmem() {
        return ignoreGfpHighmem;
    }

    public int minOrder() {
        return minOrder;
    }

    /** min-order: only allocations of at least this order fail. */
    public FailPageAlloc minOrder(int order) {
        if (order < 0 || order > PageAlloc.MAX_PAGE_ORDER + 1) {
            throw new IllegalArgumentException("fail_page_alloc/min-order: " + order + " is outside [0, "
                    + (PageAlloc.MAX_PAGE_ORDER + 1) + "]");
        }
        this.minOrder = order;
        return this;
    }

    /** should_fail_alloc_page(). Callers test probability() first. */
    boolean shouldFailAllocPage(Task t, int gfp, int order) {
        if (order < minOrder) {
            return false;
        }
        if ((gfp & Gfp.__GFP_NOFAIL) != 0) {
            return false;
        }
        if (ignoreGfpHighmem && (gfp & Gfp.__GFP_HIGHMEM) != 0) {
            return false;
        }
        if (ignoreGfpWait && (gfp & Gfp.__GFP_DIRECT_RECLAIM) != 0) {
            return false;
        }
        return attr.shouldFail(t, 1L << order, kernel);
    }

    public String read(String file) {
        switch (file) {
            case "ignore-gfp-wait":
                return ignoreGfpWait ? "Y" : "N";
            case "ignore-gfp-highmem":
                return ignoreGfpHighmem ? "Y" : "N";
            case "min-order":
                return Integer.toString(minOrder);
            default:
                return attr.read(file);
        }
    }

    public void write(String file, String value) {
        switch (file) {
            case "ignore-gfp-wait":
                ignoreGfpWait = FaultAttr.parseBool(value, "fail_page_alloc/" + file);
                break;
            case "ignore-gfp-highmem":
                ignoreGfpHighmem = FaultAttr.parseBool(value, "fail_page_alloc/" + file);
                break;
            case "min-order":
                try {
                    minOrder(Integer.parseInt(value.trim()));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("fail_page_alloc/min-order: '" + value + "' is not a number"
                            + " (-EINVAL)");
                }
                break;
            default:
                attr.write(file, value);
        }
    }

    @Override
    public String toString() {
        return attr + " ignore-gfp-wait=" + (ignoreGfpWait ? "Y" : "N") + " ignore-gfp-highmem="
                + (ignoreGfpHighmem ? "Y" : "N") + " min-order=" + minOrder;
    }
}
