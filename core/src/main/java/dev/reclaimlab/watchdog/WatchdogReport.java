package dev.reclaimlab.watchdog;

import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.locking.WaitRecord;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One watchdog finding as data (DESIGN.md rule 12): a proven deadlock (the cycle in order, each task with
 * what it waits on, who can end it, its held locks and stack, and the edges), a hung task in
 * kernel/hung_task.c's sense, or a stall (progress below its floor while tasks run or throttle).
 * {@link #text()} renders the kernel's format for the kernel version that made it; JSON is rendered from
 * the fields outside core.
 *
 * @param tasks for a deadlock the cycle in order; for a hung task the one task; for a stall empty (see stall)
 * @param edges for a deadlock, who waits for whom on what
 * @param alsoStuck for a deadlock, tasks provably stuck behind the cycle
 */
public record WatchdogReport(Type type, String headline, String kernelVersion, long detectedAtNanos,
                             long formedToDetectedNanos, long timeoutMillis, List<BlockedTask> tasks,
                             List<WaitEdge> edges, List<BlockedTask> alsoStuck, Stall stall) {
    public enum Type { DEADLOCK, HUNG_TASK, STALL }

    public WatchdogReport {
        tasks = List.copyOf(tasks);
        edges = List.copyOf(edges);
        alsoStuck = List.copyOf(alsoStuck);
    }

    /** For a deadlock, the cycle's tasks in order, then those stuck behind it; else the tasks. */
    public List<BlockedTask> blockedTasks() {
        List<BlockedTask> all = new ArrayList<>(tasks);
        all.addAll(alsoStuck);
        return all;
    }

    /** "comm:pid" of each task involved; for a deadlock, in cycle order. */
    public List<String> taskNames() {
        List<String> names = new ArrayList<>();
        for (BlockedTask t : tasks) {
            names.add(t.task());
        }
        if (stall != null) {
            for (Stall.StallTask t : stall.tasks()) {
                names.add(t.task().task());
            }
        }
        return names;
    }

    /** The kernel's text, as dmesg shows it. */
    public String text() {
        return WatchdogText.render(this);
    }

    @Override
    public String toString() {
        return text();
    }

    static WatchdogReport deadlock(KernelVersion v, List<WaitRecord.Snapshot> cycle,
                                   List<WaitRecord.Snapshot> behind, long nowNanos) {
        long formed = Long.MIN_VALUE;
        for (WaitRecord.Snapshot s : cycle) {
            formed = Math.max(formed, s.sinceNanos());
        }
        long latency = nowNanos - formed;
        List<BlockedTask> tasks = new ArrayList<>();
        List<WaitEdge> edges = new ArrayList<>();
        for (int i = 0; i < cycle.size(); i++) {
            WaitRecord.Snapshot s = cycle.get(i);
            WaitRecord.Snapshot next = cycle.get((i + 1) % cycle.size());
            tasks.add(BlockedTask.of(s, nowNanos));
            edges.add(new WaitEdge(s.task().toString(), next.task().toString(), s.describe(), s.kind().label()));
        }
        List<BlockedTask> also = new ArrayList<>();
        for (WaitRecord.Snapshot s : behind) {
            also.add(BlockedTask.of(s, nowNanos));
        }
        String headline = "INFO: proven deadlock: " + cycle.size() + (cycle.size() == 1 ? " task" : " tasks")
                + " in a wait-for cycle, detected " + ms(latency) + " ms after it formed";
        return new WatchdogReport(Type.DEADLOCK, headline, v.toString(), nowNanos, latency, 0, tasks, edges, also,
                null);
    }

    static WatchdogReport hungTask(KernelVersion v, WaitRecord.Snapshot s, long timeoutMillis, long nowNanos) {
        String headline = "INFO: task " + s.task().comm() + ":" + s.task().pid() + " blocked for more than "
                + WatchdogText.timeout(timeoutMillis) + ".";
        return new WatchdogReport(Type.HUNG_TASK, headline, v.toString(), nowNanos, 0, timeoutMillis,
                List.of(BlockedTask.of(s, nowNanos)), List.of(), List.of(), null);
    }

    static WatchdogReport stall(KernelVersion v, Stall stall, long nowNanos) {
        String headline = stall.floorPerSecond() == 0
                ? "INFO: stall: progress counter " + stall.counter() + " stuck at " + stall.value() + " for "
                        + stall.stalledMillis() + " ms while tasks run or throttle (livelock)"
                : String.format(java.util.Locale.ROOT, "INFO: stall: progress counter %s made %.1f/s for %d ms,"
                        + " below its floor of %.1f/s, while tasks run or throttle (livelock)", stall.counter(),
                        stall.ratePerSecond(), stall.stalledMillis(), stall.floorPerSecond());
        return new WatchdogReport(Type.STALL, headline, v.toString(), nowNanos, 0, 0, List.of(), List.of(), List.of(),
                stall);
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }
}
