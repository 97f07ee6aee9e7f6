package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Task;

/**
 * Why an allocation returned failure: the facts warn_alloc() prints. The allocator records only a reason
 * code on the task (no allocation on the failure path); this is built when someone asks.
 */
public record AllocFailure(String task, int pid, int gfp, int order, Reason reason) {

    /** The reasons __alloc_pages_slowpath() gives up. */
    public enum Reason {
        NONE("no failure recorded"),
        NO_DIRECT_RECLAIM("free pages are below the min watermark and the gfp mask does not allow direct reclaim"),
        RECLAIM_RECURSION("the task is already reclaiming (PF_MEMALLOC) and the reserves are exhausted"),
        NORETRY("__GFP_NORETRY: gave up after one round of direct reclaim"),
        NO_PROGRESS("direct reclaim made no progress in " + PageAlloc.MAX_RECLAIM_RETRIES + " tries"),
        OOM("out of memory: reclaim made no progress and nothing can be killed (see the OOM report in dmesg)"),
        FAULT_INJECTION("fail_page_alloc injected the failure (see /sys/kernel/debug/fail_page_alloc)"),
        COSTLY_ORDER("direct reclaim made no progress for an order above PAGE_ALLOC_COSTLY_ORDER, which the OOM"
                + " killer does not help");

        private final String text;

        Reason(String text) {
            this.text = text;
        }

        public String text() {
            return text;
        }
    }

    /** The last failure of {@code t}, or a record with reason NONE. */
    public static AllocFailure of(Task t) {
        Reason[] all = Reason.values();
        int r = t.allocFailReason();
        return new AllocFailure(t.comm(), t.pid(), t.allocFailGfp(), t.allocFailOrder(),
                r >= 0 && r < all.length ? all[r] : Reason.NONE);
    }

    /** warn_alloc()'s first line plus the reason: {@code kloopd1: page allocation failure: order:0, mode:...}. */
    public String warnAlloc() {
        return task + ": page allocation failure: order:" + order + ", mode:" + Gfp.formatMode(gfp)
                + ", nodemask=(null)\n  reason: " + reason.text();
    }
}
