package dev.reclaimlab.watchdog;

import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.locking.Json;
import dev.reclaimlab.locking.KernelStack;
import dev.reclaimlab.locking.Lockable;
import dev.reclaimlab.locking.WaitRecord;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * One khungtaskd finding (kernel/hung_task.c check_hung_task() and sched_show_task()): a proven deadlock,
 * a hung task, or a stall; as kernel text and as JSON. Immutable.
 */
public final class WatchdogReport {
    public enum Type { DEADLOCK, HUNG_TASK, STALL }

    private final Type type;
    private final String headline;
    private final List<String> tasks;
    private final long formedToDetectedNanos;
    private final String text;
    private final String json;
    private final String cycleJson;

    private WatchdogReport(Type type, String headline, List<String> tasks, long formedToDetectedNanos,
                           String text, String json, String cycleJson) {
        this.type = type;
        this.headline = headline;
        this.tasks = List.copyOf(tasks);
        this.formedToDetectedNanos = formedToDetectedNanos;
        this.text = text;
        this.json = json;
        this.cycleJson = cycleJson;
    }

    /**
     * For a deadlock, the cycle as a JSON array of {task, holds, waitsFor, stack}, in cycle order;
     * "[]" for other reports.
     */
    public String cycleJson() {
        return cycleJson;
    }

    public Type type() {
        return type;
    }

    /** The first line, used as the panic reason. */
    public String headline() {
        return headline;
    }

    /** "comm:pid" of each task involved; for a deadlock, in cycle order. */
    public List<String> tasks() {
        return tasks;
    }

    /** For a deadlock: from the moment the last task of the cycle blocked to the report. */
    public long formedToDetectedNanos() {
        return formedToDetectedNanos;
    }

    public String text() {
        return text;
    }

    public String json() {
        return json;
    }

    @Override
    public String toString() {
        return text;
    }

    static WatchdogReport deadlock(List<WaitRecord.Snapshot> cycle, long nowNanos) {
        long formed = Long.MIN_VALUE;
        for (WaitRecord.Snapshot s : cycle) {
            formed = Math.max(formed, s.sinceNanos());
        }
        long latency = nowNanos - formed;
        String headline = "INFO: proven deadlock: " + cycle.size() + (cycle.size() == 1 ? " task" : " tasks")
                + " in a wait-for cycle, detected " + ms(latency) + " ms after it formed";
        StringBuilder sb = new StringBuilder();
        sb.append("======================================================\n").append(headline).append('\n');
        sb.append("------------------------------------------------------\n");
        List<String> names = new ArrayList<>();
        Json j = new Json().beginObject().field("type", "deadlock").field("detectedAtNanos", nowNanos)
                .field("formedToDetectedMillis", latency / 1e6).beginArray("cycle");
        Json cj = new Json().beginArray();
        for (int i = 0; i < cycle.size(); i++) {
            WaitRecord.Snapshot s = cycle.get(i);
            Task next = cycle.get((i + 1) % cycle.size()).task();
            names.add(s.task().toString());
            sb.append("INFO: task ").append(s.task()).append(" blocked for ").append(ms(nowNanos - s.sinceNanos()))
                    .append(" ms on ").append(s.describe()).append(".\n");
            sb.append("      waits for: ").append(next).append(" (can end the wait: ").append(s.wakers()).append(")\n");
            taskDetails(sb, s);
            sb.append('\n');
            j.beginObject();
            taskJson(j, s, nowNanos);
            j.field("waitsFor", next.toString()).endObject();
            cj.beginObject().field("task", s.task().toString()).strings("holds", heldLocks(s))
                    .field("waitsFor", s.describe() + " -> " + next).strings("stack", KernelStack.of(s.task().thread()))
                    .endObject();
        }
        j.endArray().beginArray("edges");
        sb.append(" Wait-for cycle:\n");
        for (int i = 0; i < cycle.size(); i++) {
            WaitRecord.Snapshot s = cycle.get(i);
            Task next = cycle.get((i + 1) % cycle.size()).task();
            sb.append("  ").append(s.task()).append(" --[").append(s.describe()).append("]--> ").append(next)
                    .append('\n');
            j.beginObject().field("from", s.task().toString()).field("to", next.toString())
                    .field("via", s.describe()).field("kind", s.kind().label()).endObject();
        }
        sb.append("\n *** DEADLOCK ***\n");
        j.endArray().endObject();
        return new WatchdogReport(Type.DEADLOCK, headline, names, latency, sb.toString(), j.toString(),
                cj.endArray().toString());
    }

    static WatchdogReport hungTask(WaitRecord.Snapshot s, long timeoutMillis, long nowNanos) {
        String headline = "INFO: task " + s.task().comm() + ":" + s.task().pid() + " blocked for more than "
                + seconds(timeoutMillis) + " seconds.";
        StringBuilder sb = new StringBuilder(headline).append('\n');
        sb.append("      Not tainted reclaimlab\n");
        sb.append("\"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.\n");
        sb.append("task:").append(s.task().comm()).append(" state:D pid:").append(s.task().pid()).append(" flags:")
                .append(TaskFlags.format(s.task().flags())).append('\n');
        sb.append(" waiting on ").append(s.describe()).append(" for ").append(ms(nowNanos - s.sinceNanos()))
                .append(" ms; can end the wait: ").append(s.wakers().isEmpty() ? "(nobody declared)"
                        : s.wakers().toString()).append('\n');
        taskDetails(sb, s);
        Json j = new Json().beginObject().field("type", "hung_task").field("detectedAtNanos", nowNanos)
                .field("timeoutMillis", timeoutMillis).beginObject("task");
        taskJson(j, s, nowNanos);
        j.endObject().endObject();
        return new WatchdogReport(Type.HUNG_TASK, headline, List.of(s.task().toString()), 0, sb.toString(),
                j.toString(), "[]");
    }

    static WatchdogReport stall(ProgressCounter pc, long stalledNanos, List<Task> busy,
                                List<WaitRecord.Snapshot> throttled, long nowNanos) {
        String headline = "INFO: stall: progress counter " + pc.name() + " stuck at " + pc.lastValue + " for "
                + ms(stalledNanos) + " ms while tasks run or throttle (livelock)";
        StringBuilder sb = new StringBuilder(headline).append('\n');
        List<String> names = new ArrayList<>();
        Json j = new Json().beginObject().field("type", "stall").field("detectedAtNanos", nowNanos)
                .field("counter", pc.name()).field("value", pc.lastValue)
                .field("stalledMillis", stalledNanos / 1e6).beginArray("tasks");
        for (Task t : busy) {
            names.add(t.toString());
            sb.append("task:").append(t.comm()).append(" state:R pid:").append(t.pid()).append('\n');
            sb.append("Call Trace:\n");
            List<String> stack = KernelStack.of(t.thread());
            KernelStack.print(sb, stack, " ");
            j.beginObject().field("pid", t.pid()).field("comm", t.comm()).field("state", "R")
                    .strings("stack", stack).endObject();
        }
        for (WaitRecord.Snapshot s : throttled) {
            names.add(s.task().toString());
            sb.append("task:").append(s.task().comm()).append(" state:D pid:").append(s.task().pid())
                    .append(" throttled in ").append(s.on().name()).append('\n');
            taskDetails(sb, s);
            j.beginObject();
            taskJson(j, s, nowNanos);
            j.endObject();
        }
        j.endArray().endObject();
        return new WatchdogReport(Type.STALL, headline, names, 0, sb.toString(), j.toString(), "[]");
    }

    /** Held locks and the kernel-frame stack, as sched_show_task() and debug_show_held_locks() print them. */
    static void taskDetails(StringBuilder sb, WaitRecord.Snapshot s) {
        Task t = s.task();
        List<String> held = heldLocks(s);
        if (!t.kernel().lockdep().enabled()) {
            sb.append(" held locks of ").append(t).append(" unknown: lockdep is off\n");
        } else if (held.isEmpty()) {
            sb.append(" no locks held by ").append(t).append(".\n");
        } else {
            sb.append(' ').append(held.size()).append(held.size() == 1 ? " lock" : " locks").append(" held by ")
                    .append(t).append(":\n");
            for (int i = 0; i < held.size(); i++) {
                sb.append("  #").append(i).append(": ").append(held.get(i)).append('\n');
            }
        }
        sb.append("Call Trace:\n");
        KernelStack.print(sb, KernelStack.of(t.thread()), " ");
    }

    private static void taskJson(Json j, WaitRecord.Snapshot s, long nowNanos) {
        Task t = s.task();
        List<String> wakers = new ArrayList<>();
        for (Task w : s.wakers()) {
            wakers.add(w.toString());
        }
        j.field("pid", t.pid()).field("comm", t.comm()).field("state", "D")
                .field("waitsOn", s.on().name()).field("kind", s.kind().label()).field("describe", s.describe())
                .field("blockedMillis", (nowNanos - s.sinceNanos()) / 1e6)
                .strings("wakers", wakers).strings("heldLocks", heldLocks(s))
                .strings("stack", KernelStack.of(t.thread()));
    }

    /** The held locks, without the one the task is still waiting to get (lockdep pushes it first). */
    private static List<String> heldLocks(WaitRecord.Snapshot s) {
        Task t = s.task();
        if (!t.kernel().lockdep().enabled()) {
            return List.of();
        }
        return t.heldLocks().describeExcept(s.on() instanceof Lockable ? ((Lockable) s.on()).depMap() : null);
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    private static String seconds(long millis) {
        return millis % 1000 == 0 ? Long.toString(millis / 1000)
                : String.format(Locale.ROOT, "%.3f", millis / 1000.0);
    }
}
