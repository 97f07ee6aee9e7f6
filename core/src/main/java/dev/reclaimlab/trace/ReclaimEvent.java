package dev.reclaimlab.trace;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * One reclaim pass: direct reclaim by an allocating task (the mm_vmscan_direct_reclaim_begin/end
 * tracepoints) or a kswapd pass (mm_vmscan_kswapd_wake / balance_pgdat).
 */
@Name("reclaimlab.Reclaim")
@Label("Reclaim Pass")
@Category({"reclaimlab", "mm"})
@Description("Direct reclaim or a kswapd pass in an emulated kernel")
@StackTrace(false)
public final class ReclaimEvent extends jdk.jfr.Event {
    @Label("Task")
    public String task;

    @Label("Who")
    @Description("direct or kswapd")
    public String who;

    @Label("GFP")
    public String gfp;

    @Label("Order")
    public int order;

    @Label("Reclaimed")
    public long reclaimed;

    /** Commits the ended event with its fields; call only when {@link #shouldCommit()} says so. */
    public void commit(String task, String who, String gfp, int order, long reclaimed) {
        this.task = task;
        this.who = who;
        this.gfp = gfp;
        this.order = order;
        this.reclaimed = reclaimed;
        commit();
    }
}
