package dev.reclaimlab.watchdog;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelConfig;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.KernelStack;
import dev.reclaimlab.locking.WaitKind;
import dev.reclaimlab.locking.WaitRecord;

import java.util.ArrayList;
import java.util.Collections;
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
 * khungtaskd (kernel/hung_task.c), extended as DESIGN.md asks: each scan builds the wait-for graph from the
 * tasks' wait records and reports a cycle once it is stable for one scan (a proven deadlock), a task
 * blocked longer than the timeout outside any cycle (hung task), and progress counters that stand still
 * while tasks run or throttle (stall). With kernel.hung_task_panic the first report panics the kernel,
 * which unwinds every blocked task so {@link Kernel#close()} can finish.
 */
public final class Watchdog {
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

    /** Registers a counter that must move while work is pending; see {@link ProgressCounter}. */
    public ProgressCounter registerProgress(String name, LongSupplier counter) {
        ProgressCounter pc = new ProgressCounter(name, counter, System.nanoTime());
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

    /** Every report so far, oldest first. */
    public List<WatchdogReport> reports() {
        return Collections.unmodifiableList(reports);
    }

    /**
     * check_hung_uninterruptible_tasks(): one scan. Returns the reports it made; panics after them when
     * kernel.hung_task_panic is set. khungtaskd calls it every scan interval; tests may call it directly.
     */
    public synchronized List<WatchdogReport> checkHungUninterruptibleTasks() {
        long now = System.nanoTime();
        Map<Task, WaitRecord.Snapshot> blocked = new LinkedHashMap<>();
        List<Task> busy = new ArrayList<>();
        List<WaitRecord.Snapshot> throttled = new ArrayList<>();
        for (Task t : kernel.tasks()) {
            if (t == khungtaskd || t.state() == Task.TASK_DEAD) {
                continue;
            }
            WaitRecord.Snapshot s = t.waitRecord().snapshot();
            if (s == null) {
                if (t.isKthread() && t.state() == Task.TASK_RUNNING) {
                    busy.add(t);
                }
            } else if (s.kind().blocks()) {
                blocked.put(t, s);
            } else if (s.kind() == WaitKind.THROTTLE) {
                throttled.add(s);
            }
        }
        List<WatchdogReport> found = new ArrayList<>();
        WaitForGraph g = WaitForGraph.build(blocked);
        Set<String> cyclesNow = new HashSet<>();
        for (List<WaitRecord.Snapshot> cycle : g.cycles()) {
            String sig = signature(cycle);
            cyclesNow.add(sig);
            if (lastScanCycles.contains(sig) && reportedCycles.add(sig)) {
                found.add(WatchdogReport.deadlock(cycle, now));
            }
        }
        lastScanCycles = cyclesNow;
        for (WaitRecord.Snapshot s : blocked.values()) {
            if (!g.inCycle(s.task()) && now - s.sinceNanos() >= timeoutNanos
                    && reportedHung.add(s.task().pid() + "@" + s.sinceNanos())) {
                found.add(WatchdogReport.hungTask(s, TimeUnit.NANOSECONDS.toMillis(timeoutNanos), now));
            }
        }
        boolean active = !busy.isEmpty() || !throttled.isEmpty();
        for (ProgressCounter pc : counters) {
            long v = pc.read();
            if (v != pc.lastValue) {
                pc.lastValue = v;
                pc.lastChangeNanos = now;
                pc.reported = false;
            } else if (!pc.reported && active && now - pc.lastChangeNanos >= timeoutNanos) {
                pc.reported = true;
                found.add(WatchdogReport.stall(pc, now - pc.lastChangeNanos, busy, throttled, now));
            }
        }
        for (WatchdogReport r : found) {
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

    /** sysrq-w (show_state_filter(TASK_UNINTERRUPTIBLE)): every blocked task with its wait and stack. */
    public String showBlockedTasks() {
        long now = System.nanoTime();
        StringBuilder sb = new StringBuilder("sysrq: Show Blocked State\n");
        for (Task t : kernel.tasks()) {
            WaitRecord.Snapshot s = t.waitRecord().snapshot();
            if (s == null || !s.kind().blocks()) {
                continue;
            }
            sb.append("task:").append(t.comm()).append(" state:D pid:").append(t.pid()).append(" waiting on ")
                    .append(s.describe()).append(" for ").append(TimeUnit.NANOSECONDS.toMillis(now - s.sinceNanos()))
                    .append(" ms; can end the wait: ").append(s.wakers()).append('\n');
            WatchdogReport.taskDetails(sb, s);
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
