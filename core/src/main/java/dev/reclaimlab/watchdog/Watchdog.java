package dev.reclaimlab.watchdog;

import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelConfig;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.KernelStack;
import dev.reclaimlab.locking.WaitKind;
import dev.reclaimlab.locking.WaitRecord;
import dev.reclaimlab.trace.ReportEvent;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * khungtaskd (kernel/hung_task.c), extended as DESIGN.md asks. Each scan reads every task's wait record and
 * reports: a cycle of provably stuck tasks that is still there on the next scan (a proven deadlock, see
 * {@link WaitForGraph}); a task in D state whose switch count has not moved for the hung-task timeout,
 * outside any cycle, by the kernel's own rule for the version (TASK_KILLABLE sleepers are skipped, as
 * check_hung_uninterruptible_tasks() tests {@code state == TASK_UNINTERRUPTIBLE}; 2.2 had no detector);
 * and a progress counter below its floor for its window while tasks run or throttle (a stall). With
 * kernel.hung_task_panic the first report panics the kernel, which unwinds every blocked task so
 * {@link Kernel#close()} can finish.
 */
public final class Watchdog {
    /** khungtaskd and its "INFO: task ... blocked for more than" report. */
    public static final Fix HUNG_TASK_DETECTOR = Fix.declare("hung_task_detector",
            "khungtaskd reports tasks in TASK_UNINTERRUPTIBLE whose switch count did not move for"
                    + " hung_task_timeout_secs",
            "e162b39a3681 softlockup: decouple hung tasks check from softlockup detection (2.6.30)",
            new KernelVersion(2, 6, 30));
    /** The hung-task message prints the measured time since the switch count last moved, not the timeout. */
    public static final Fix HUNG_TASK_LAST_SWITCH_TIME = Fix.declare("hung_task_last_switch_time",
            "khungtaskd keeps last_switch_time and reports the seconds a task was really blocked, and shows all"
                    + " locks once after the scan",
            "kernel/hung_task.c: show all hung tasks before panic; last_switch_time (Tetsuo Handa, 4.18)",
            new KernelVersion(4, 18));
    /** sched_show_task() lost the saved-PC column with thread_saved_pc(). */
    public static final Fix SCHED_SHOW_TASK_NO_PC = Fix.declare("sched_show_task_no_pc",
            "sched_show_task() prints no saved PC column", "sched/core: remove thread_saved_pc() users (4.12)",
            new KernelVersion(4, 12));

    private final Kernel kernel;
    private final long timeoutNanos;
    private final long scanNanos;
    private volatile Task khungtaskd;
    private final List<WatchdogReport> reports = new CopyOnWriteArrayList<>();
    private final List<Consumer<WatchdogReport>> listeners = new CopyOnWriteArrayList<>();
    private final List<ProgressCounter> counters = new CopyOnWriteArrayList<>();
    // Scan state; scans are serialised on this.
    private Set<String> lastScanCycles = Set.of();
    private final Set<String> reportedCycles = new HashSet<>();
    private final Set<String> reportedHung = new HashSet<>();
    private final Map<Task, long[]> switches = new HashMap<>();
    private final Map<Task, Map<String, long[]>> throttleBaseline = new HashMap<>();
    private volatile long scans;

    public Watchdog(Kernel kernel) {
        this.kernel = kernel;
        KernelConfig c = kernel.config();
        this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(c.hungTaskTimeoutMillis());
        this.scanNanos = TimeUnit.MILLISECONDS.toNanos(c.hungTaskScanMillis());
    }

    /** Starts khungtaskd; Kernel.boot() calls it unless the watchdog is configured off. */
    public synchronized void start() {
        if (khungtaskd != null) {
            throw new IllegalStateException("khungtaskd already runs in " + kernel);
        }
        khungtaskd = kernel.kthreadRun("khungtaskd", this::watchdog);
    }

    /** The khungtaskd task, or null when it was not started. */
    public Task khungtaskd() {
        return khungtaskd;
    }

    private void watchdog(Task self) {
        while (!self.kthreadShouldStop()) {
            long deadline = System.nanoTime() + scanNanos;
            for (long left = scanNanos; left > 0 && !self.kthreadShouldStop(); left = deadline - System.nanoTime()) {
                self.scheduleTimeout(left);
            }
            if (!self.kthreadShouldStop()) {
                checkHungUninterruptibleTasks();
            }
        }
    }

    /**
     * Registers a counter that must move while tasks are busy: it is stalled when it stands still for the
     * hung-task timeout; see {@link ProgressCounter}.
     */
    public ProgressCounter registerProgress(String name, LongSupplier counter) {
        return registerProgress(name, counter, 0, timeoutNanos);
    }

    /** As {@link #registerProgress(String, LongSupplier)} with a floor rate per second over a window. */
    public ProgressCounter registerProgress(String name, LongSupplier counter, double floorPerSecond,
                                            long windowNanos) {
        ProgressCounter pc = new ProgressCounter(name, counter, floorPerSecond, windowNanos);
        counters.add(pc);
        return pc;
    }

    public void unregisterProgress(ProgressCounter pc) {
        counters.remove(pc);
    }

    /** Called with every new report, on the scanning thread, before a panic. */
    public void addReportListener(Consumer<WatchdogReport> l) {
        listeners.add(l);
    }

    /** Scans made so far. */
    public long scans() {
        return scans;
    }

    /** Every report so far, oldest first. */
    public List<WatchdogReport> reports() {
        return Collections.unmodifiableList(reports);
    }

    /**
     * check_hung_uninterruptible_tasks(): one scan. Returns the reports it made; panics after them when
     * kernel.hung_task_panic is set. khungtaskd calls it every scan interval; tests may call it directly.
     */
    public synchronized List<WatchdogReport> checkHungUninterruptibleTasks() {
        scans++;
        long now = System.nanoTime();
        KernelVersion version = kernel.config().version();
        Map<Task, WaitRecord.Snapshot> blocked = new LinkedHashMap<>();
        List<Task> busy = new ArrayList<>();
        List<WaitRecord.Snapshot> throttled = new ArrayList<>();
        Set<Task> alive = new HashSet<>();
        for (Task t : kernel.tasks()) {
            if (t == khungtaskd || t.state() == Task.TASK_DEAD) {
                continue;
            }
            alive.add(t);
            WaitRecord.Snapshot s = t.waitRecord().snapshot();
            if (s == null) {
                if (t.isKthread() && t.state() == Task.TASK_RUNNING) {
                    busy.add(t);
                }
            } else if (s.kind() == WaitKind.THROTTLE) {
                throttled.add(s);
            } else if (s.kind().blocks()) {
                blocked.put(t, s);
                if (s.timed()) {
                    // Backing off on a timer: it runs again by itself, so it counts as busy for a stall.
                    throttled.add(s);
                }
            }
        }
        switches.keySet().retainAll(alive);
        throttleBaseline.keySet().retainAll(alive);
        List<WatchdogReport> found = new ArrayList<>();
        WaitForGraph g = WaitForGraph.build(blocked);
        Set<String> cyclesNow = new HashSet<>();
        for (List<WaitRecord.Snapshot> cycle : g.cycles()) {
            String sig = signature(cycle);
            cyclesNow.add(sig);
            if (lastScanCycles.contains(sig) && reportedCycles.add(sig)) {
                found.add(WatchdogReport.deadlock(version, cycle, behind(g, cycle), now));
                kernel.lockdep().watchdogProvedCycle(cycle);
            }
        }
        lastScanCycles = cyclesNow;
        boolean detector = kernel.config().has(HUNG_TASK_DETECTOR);
        for (WaitRecord.Snapshot s : blocked.values()) {
            long since = switchesSince(s.task(), now);
            if (detector && kernelWouldCheck(s) && !g.inCycle(s.task()) && now - since >= timeoutNanos
                    && reportedHung.add(s.task().pid() + "@" + since)) {
                found.add(WatchdogReport.hungTask(version, s, TimeUnit.NANOSECONDS.toMillis(timeoutNanos), now));
            }
        }
        boolean active = !busy.isEmpty() || !throttled.isEmpty();
        for (ProgressCounter pc : counters) {
            Stall st = checkProgress(pc, now, active, busy, throttled);
            if (st != null) {
                found.add(WatchdogReport.stall(version, st, now));
            }
        }
        for (WatchdogReport r : found) {
            // The event first: whoever sees the report in reports() also finds it in a recording.
            ReportEvent ev = new ReportEvent();
            ev.begin();
            ev.end();
            if (ev.shouldCommit()) {
                ev.source = "watchdog";
                ev.type = r.type().name();
                ev.headline = r.headline();
                ev.kernel = "linux-" + r.kernelVersion();
                ev.commit();
            }
            reports.add(r);
            kernel.printk(r.text());
            for (Consumer<WatchdogReport> l : listeners) {
                l.accept(r);
            }
        }
        if (!found.isEmpty() && kernel.config().hungTaskPanic()) {
            kernel.panic("hung_task: " + found.get(0).headline());
        }
        return found;
    }

    /**
     * The kernel's own test (3.x-5.x): {@code t->state == TASK_UNINTERRUPTIBLE}, so TASK_KILLABLE sleepers
     * and spinners are skipped.
     */
    static boolean kernelWouldCheck(WaitRecord.Snapshot s) {
        return !s.kind().spins() && !s.killable() && s.task().state() == Task.TASK_UNINTERRUPTIBLE;
    }

    /** t->last_switch_count: when the task's switch count last moved, as this scan sees it. */
    private long switchesSince(Task t, long now) {
        long c = t.nvcsw();
        long[] last = switches.get(t);
        if (last == null || last[0] != c) {
            switches.put(t, new long[] {c, now});
            return now;
        }
        return last[1];
    }

    private static List<WaitRecord.Snapshot> behind(WaitForGraph g, List<WaitRecord.Snapshot> cycle) {
        Set<Task> on = new HashSet<>();
        for (WaitRecord.Snapshot s : cycle) {
            on.add(s.task());
        }
        List<WaitRecord.Snapshot> out = new ArrayList<>();
        for (WaitRecord.Snapshot s : g.stuckSet().values()) {
            if (!on.contains(s.task())) {
                out.add(s);
            }
        }
        return out;
    }

    /** One scan's sample of {@code pc}; a stall once the window is below the floor with tasks busy throughout. */
    private Stall checkProgress(ProgressCounter pc, long now, boolean active, List<Task> busy,
                                List<WaitRecord.Snapshot> throttled) {
        long v = pc.read();
        pc.lastValue = v;
        pc.samples.addLast(new long[] {now, v, active ? 1 : 0});
        long windowStart = now - pc.windowNanos();
        // Keep the newest sample at or before the window's start, and everything after it.
        for (;;) {
            long[] head = pc.samples.pollFirst();
            long[] second = pc.samples.peekFirst();
            if (second == null || second[0] > windowStart) {
                pc.samples.addFirst(head);
                break;
            }
        }
        long[] first = pc.samples.peekFirst();
        boolean covered = first[0] <= windowStart;
        boolean allActive = pc.samples.stream().allMatch(x -> x[2] == 1);
        double seconds = Math.max(1e-9, (now - first[0]) / 1e9);
        double rate = (v - first[1]) / seconds;
        boolean below = pc.floorPerSecond() == 0 ? v == first[1] : rate < pc.floorPerSecond();
        if (!below || !covered) {
            pc.reported = false;
            if (!below) {
                refreshThrottleBaseline();
            }
            return null;
        }
        if (pc.reported || !allActive) {
            return null;
        }
        pc.reported = true;
        List<Stall.StallTask> tasks = new ArrayList<>();
        for (Task t : busy) {
            tasks.add(new Stall.StallTask(BlockedTask.running(t), throttleSince(t)));
        }
        for (WaitRecord.Snapshot s : throttled) {
            tasks.add(new Stall.StallTask(BlockedTask.of(s, now), throttleSince(s.task())));
        }
        return new Stall(pc.name(), v, TimeUnit.NANOSECONDS.toMillis(now - first[0]), pc.floorPerSecond(), rate, tasks);
    }

    private void refreshThrottleBaseline() {
        for (Task t : kernel.tasks()) {
            throttleBaseline.put(t, t.throttleAccount().totals());
        }
    }

    /** The task's throttle sleeps since progress was last above its floor. */
    private List<ThrottleSite> throttleSince(Task t) {
        Map<String, long[]> base = throttleBaseline.getOrDefault(t, Map.of());
        List<ThrottleSite> out = new ArrayList<>();
        for (Map.Entry<String, long[]> e : t.throttleAccount().totals().entrySet()) {
            long[] b = base.getOrDefault(e.getKey(), new long[3]);
            long[] v = e.getValue();
            long n = v[0] - b[0];
            if (n > 0) {
                out.add(new ThrottleSite(e.getKey(), n, TimeUnit.NANOSECONDS.toMillis(v[1] - b[1]), v[2] - b[2]));
            }
        }
        return out;
    }

    /** sysrq-w (show_state_filter(TASK_UNINTERRUPTIBLE)): every blocked task with its wait and stack. */
    public String showBlockedTasks() {
        long now = System.nanoTime();
        StringBuilder sb = new StringBuilder("sysrq: Show Blocked State\n");
        for (Task t : kernel.tasks()) {
            WaitRecord.Snapshot s = t.waitRecord().snapshot();
            if (s == null || !s.kind().blocks()) {
                continue;
            }
            BlockedTask b = BlockedTask.of(s, now);
            sb.append("task:").append(t.comm()).append(" state:").append(b.state()).append(" pid:").append(t.pid())
                    .append(" waiting on ").append(b.describe()).append(" for ").append(b.blockedMillis())
                    .append(" ms; can end the wait: ").append(b.wakersText()).append('\n');
            WatchdogText.details(sb, b);
        }
        return sb.toString();
    }

    /** A cycle is the same cycle in the next scan if the same tasks wait in the same waits. */
    private static String signature(List<WaitRecord.Snapshot> cycle) {
        List<String> parts = new ArrayList<>();
        for (WaitRecord.Snapshot s : cycle) {
            parts.add(s.task().pid() + "@" + s.sinceNanos());
        }
        Collections.sort(parts);
        return String.join(",", parts);
    }

    /** The kernel frames of {@code t}'s thread, for callers that print a single task. */
    public static List<String> stackOf(Task t) {
        return KernelStack.of(t.thread());
    }
}
