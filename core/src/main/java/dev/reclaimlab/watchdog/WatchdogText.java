package dev.reclaimlab.watchdog;

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

    /** hung_task_timeout_secs as the message prints it; a sub-second emulator timeout is printed in ms. */
    static String timeout(long millis) {
        return millis % 1000 == 0 ? (millis / 1000) + (millis == 1000 ? " second" : " seconds") : millis + " ms";
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

    private static void hungTask(StringBuilder sb, WatchdogReport r, BlockedTask t) {
        sb.append(r.headline()).append('\n');
        sb.append("      Not tainted ").append(r.kernelVersion()).append(".0 #1 reclaimlab\n");
        sb.append("\"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.\n");
        sb.append(String.format(Locale.ROOT, "%-15.15s %c %5d %5d %6d 0x%08x%n", t.comm(), t.state(), 0, t.pid(), 0, 0));
        sb.append(" waiting on ").append(t.describe()).append(" for ").append(t.blockedMillis())
                .append(" ms; can end the wait: ").append(t.wakersText()).append('\n');
        details(sb, t);
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
                        .append(s.millis()).append(" ms\n");
            }
            details(sb, t);
        }
    }

    /** print_worker_info(), the call trace, and the held locks. */
    static void details(StringBuilder sb, BlockedTask t) {
        if (t.workqueue() != null) {
            sb.append("Workqueue: ").append(t.workqueue()).append('\n');
        }
        sb.append("Call Trace:\n");
        KernelStack.print(sb, t.stack(), " ");
        List<String> held = t.heldLocks();
        if (!t.locksKnown()) {
            sb.append(" held locks of ").append(t.task()).append(" unknown: lockdep is off\n");
        } else if (held.isEmpty()) {
            sb.append("no locks held by ").append(t.task()).append(".\n");
        } else {
            sb.append(held.size()).append(held.size() == 1 ? " lock" : " locks").append(" held by ").append(t.task())
                    .append(":\n");
            for (int i = 0; i < held.size(); i++) {
                sb.append(" #").append(i).append(": ").append(held.get(i)).append('\n');
            }
        }
    }
}
