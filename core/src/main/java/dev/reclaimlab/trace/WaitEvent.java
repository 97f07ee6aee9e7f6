package dev.reclaimlab.trace;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Threshold;

/**
 * A wait in the emulated kernel (a lock, a completion, a wait queue, a bit, a spin) that lasted longer than
 * the threshold: the JFR counterpart of sched_switch with a blocked reason. Recorded by Sleep when the wait
 * ends, so a user can open a run in JDK Mission Control and see who waited on what, and for how long.
 */
@Name("reclaimlab.Wait")
@Label("Kernel Wait")
@Category({"reclaimlab", "locking"})
@Description("A task of an emulated kernel waited on a lock, completion, wait queue, bit or spin lock")
@Threshold("10 ms")
@StackTrace(false)
public final class WaitEvent extends jdk.jfr.Event {
    @Label("Task")
    public String task;

    @Label("Waits On")
    public String waitsOn;

    @Label("Kind")
    public String kind;

    @Label("State")
    @Description("D, killable, interruptible (idle) or spinning")
    public String state;

    @Label("Outcome")
    @Description("done, timed out, killed, or unwound by a panic")
    public String outcome;
}
