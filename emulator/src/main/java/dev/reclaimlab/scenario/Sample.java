package dev.reclaimlab.scenario;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.mm.Mm;
import dev.reclaimlab.mm.VmStat;
import dev.reclaimlab.mm.VmStatItem;

/**
 * Harness tooling, no kernel code (it reads the counters of whatever version runs): one per-second look
 * at memory pressure during a run, as `vmstat 1` would print it: free pages, the
 * direct-reclaim stalls and the pages reclaim stole so far, and how often reclaimers and dirtiers were
 * throttled, and the workload's own work counter ({@link Workload#workDone()}), so two variants' throughput
 * curves can be compared. Counters are cumulative since boot; a reader takes differences.
 */
public record Sample(long atMs, long nrFreePages, long allocstallNormal, long pgstealDirect, long pgstealKswapd,
                     long reclaimThrottled, long dirtyThrottled, long workDone) {

    static Sample of(Kernel k, long atMs, long workDone) {
        Mm mm = k.mm();
        VmStat v = mm.vmstat();
        return new Sample(atMs, v.get(VmStatItem.NR_FREE_PAGES), v.get(VmStatItem.ALLOCSTALL_NORMAL),
                v.get(VmStatItem.PGSTEAL_DIRECT), v.get(VmStatItem.PGSTEAL_KSWAPD), mm.reclaimThrottled(),
                mm.writeback().dirtyThrottlePauses(), workDone);
    }
}
