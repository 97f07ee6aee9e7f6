package dev.reclaimlab.trace;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/** One sleep in a throttle (congestion_wait, balance_dirty_pages, reclaim throttling), with its site. */
@Name("reclaimlab.Throttle")
@Label("Throttle Sleep")
@Category({"reclaimlab", "mm"})
@Description("A task slept in a throttle of the emulated kernel")
@StackTrace(false)
public final class ThrottleEvent extends jdk.jfr.Event {
    @Label("Task")
    public String task;

    @Label("Site")
    public String site;
}
