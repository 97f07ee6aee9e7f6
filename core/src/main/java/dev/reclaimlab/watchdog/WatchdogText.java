package dev.reclaimlab.watchdog;

import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.locking.KernelStack;

import java.util.List;
import java.util.Locale;

/**
 * The kernel's text of a {@link WatchdogReport}. A hung task reads as kernel/hung_task.c and
 * sched_show_task() print it in 3.x-5.7 (the comm/state/pid line, "Workqueue:" for a kworker from
 * print_worker_info(), the call trace, then the held locks as debug_show_all_locks() does); a proven
 * deadlock and a stall are reclaimlab's own reports, in the same style.
 */
final class WatchdogText {
    private WatchdogText() {
    }

    static String render(WatchdogReport r) {
        StringBuilder sb = new StringBuilder();
        switch (r.type()) {
            case DEADLOCK:
                deadlock(sb, r);
                break;
            case HUNG_TASK:
                hungTask(sb, r, r.tasks().get(0));
                break;
            default:
                stall(sb, r);
        }
        return sb.toString();
    }

    /** "%ld seconds" as the message prints it, even for 1; a sub-second emulator timeout is printed in ms. */
    static String timeout(long millis) {
        return millis % 1000 == 0 ? (millis / 1000) + " seconds" : millis + " ms";
    }

    private static void deadlock(StringBuilder sb, WatchdogReport r) {
        sb.append("======================================================\n").append(r.headline()).append('\n');
        sb.append("------------------------------------------------------\n");
        List<BlockedTask> tasks = r.tasks();
        for (int i = 0; i < tasks.size(); i++) {
            BlockedTask t = tasks.get(i);
            sb.append("INFO: task ").append(t.task()).append(" blocked for ").append(t.blockedMillis())
                    .append(" ms on ").append(t.describe()).append(".\n");
            sb.append("      waits for: ").append(r.edges().get(i).to()).append(" (can end the wait: ")
                    .append(t.wakersText()).append(")\n");
            details(sb, t);
            sb.append('\n');
        }
        sb.append(" Wait-for cycle:\n");
        for (WaitEdge e : r.edges()) {
            sb.append("  ").append(e.from()).append(" --[").append(e.via()).append("]--> ").append(e.to()).append('\n');
        }
        if (!r.alsoStuck().isEmpty()) {
            sb.append(" Also stuck behind the cycle:");
            for (BlockedTask t : r.alsoStuck()) {
                sb.append(' ').append(t.task());
            }
            sb.append('\n');
        }
        sb.append("\n *** DEADLOCK ***\n");
    }

    /**
     * check_hung_task() and sched_show_task() of the report's release: the configured timeout (3.x, 4.3) or
     * the measured seconds since the switch count last moved (4.18 on); the saved PC column of 64-bit
     * sched_show_task() before 4.12 (the emulator has no kernel text: zeros); then print_worker_info(), the
     * call trace and the held locks (debug_show_held_locks() per task, or debug_show_all_locks() once, 4.18 on).
     */
    private static void hungTask(StringBuilder sb, WatchdogReport r, BlockedTask t) {
        KernelVersion v = KernelVersion.parse(r.kernelVersion());
        boolean measured = v.atLeast(Watchdog.HUNG_TASK_LAST_SWITCH_TIME.landedIn());
        sb.append(measured ? "INFO: task " + t.comm() + ":" + t.pid() + " blocked for more than "
                + timeout(Math.max(r.timeoutMillis(), t.blockedMillis() / 1000 * 1000)) + "." : r.headline()).append('\n');
        sb.append("      Not tainted ").append(v).append(".0 #1\n");
        sb.append("\"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.\n");
        boolean pc = !v.atLeast(Watchdog.SCHED_SHOW_TASK_NO_PC.landedIn());
        sb.append(String.format(Locale.ROOT, "%-15.15s %c%s%5d %5d %6d 0x%08x%n", t.comm(), t.state(),
                pc ? " 0000000000000000 " : " ", 0, t.pid(), t.kthread() ? 2 : 1, 0));
        sb.append(" reclaimlab: waiting on ").append(t.describe()).append(" for ").append(t.blockedMillis())
                .append(" ms; can end the wait: ").append(t.wakersText()).append('\n');
        if (measured) {
            trace(sb, t);
            sb.append("\nShowing all locks held in the system:\n");
            locks(sb, t);
            sb.append("\n=============================================\n");
        } else {
            details(sb, t);
        }
    }

    private static void stall(StringBuilder sb, WatchdogReport r) {
        sb.append(r.headline()).append('\n');
        for (Stall.StallTask st : r.stall().tasks()) {
            BlockedTask t = st.task();
            sb.append("task:").append(t.comm()).append(" state:").append(t.state()).append(" pid:").append(t.pid());
            if (t.describe() != null) {
                sb.append(" in ").append(t.describe());
            }
            sb.append('\n');
            for (ThrottleSite s : st.throttles()) {
                sb.append("  throttled in ").append(s.site()).append(": ").append(s.count()).append(" sleeps, ")
                        .append(s.millis()).append(" ms");
                if (s.wokenEarly() > 0) {
                    sb.append(", ").append(s.wokenEarly()).append(" woken early");
                }
                sb.append('\n');
            }
            details(sb, t);
        }
    }

    /** print_worker_info(), the call trace, and the held locks. */
    static void details(StringBuilder sb, BlockedTask t) {
        trace(sb, t);
        locks(sb, t);
    }

    private static void trace(StringBuilder sb, BlockedTask t) {
        if (t.workqueue() != null) {
            sb.append("Workqueue: ").append(t.workqueue()).append('\n');
        }
        sb.append("Call Trace:\n");
        KernelStack.print(sb, t.stack(), " ");
    }

    /** lockdep_print_held_locks(): "2 locks held by kloopd1/12:". */
    private static void locks(StringBuilder sb, BlockedTask t) {
        List<String> held = t.heldLocks();
        String who = t.comm() + "/" + t.pid();
        if (!t.locksKnown()) {
            sb.append(" held locks of ").append(who).append(" unknown: lockdep is off\n");
        } else if (held.isEmpty()) {
            sb.append("no locks held by ").append(who).append(".\n");
        } else {
            sb.append(held.size()).append(held.size() == 1 ? " lock" : " locks").append(" held by ").append(who)
                    .append(":\n");
            for (int i = 0; i < held.size(); i++) {
                sb.append(" #").append(i).append(": ").append(held.get(i)).append('\n');
            }
        }
    }
}
