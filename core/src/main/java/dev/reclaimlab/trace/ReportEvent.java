package dev.reclaimlab.trace;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/** A watchdog or lockdep report: its type and first line; the full text is in dmesg and the run's JSON. */
@Name("reclaimlab.Report")
@Label("Kernel Report")
@Category({"reclaimlab", "reports"})
@Description("The watchdog proved a deadlock, found a hung task or a stall, or lockdep reported")
@StackTrace(false)
public final class ReportEvent extends jdk.jfr.Event {
    @Label("Source")
    @Description("watchdog or lockdep")
    public String source;

    @Label("Type")
    public String type;

    @Label("Headline")
    public String headline;

    @Label("Kernel")
    public String kernel;
}
