package dev.reclaimlab.scenario;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelConfig;
import dev.reclaimlab.locking.LockdepReport;
import dev.reclaimlab.watchdog.WatchdogReport;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs one scenario variant: boots a kernel with the variant's switches, starts the workload, waits for
 * the watchdog's first report or the deadline, taking a {@link Sample} of memory pressure each second, and
 * closes the kernel (which, after a deadlock, the watchdog's panic lets finish). The runner is the harness, not emulated code: it waits with a plain latch.
 */
public final class ScenarioRunner {
    private static final long PROGRESS_INTERVAL_MS = 1000;

    private ScenarioRunner() {
    }

    public static RunResult run(Scenario s, Variant v, RunOptions o) {
        KernelConfig config = v.configure(KernelConfig.builder()
                .version(s.version())
                .memory(o.memoryBytes())
                .hungTaskTimeoutMillis(o.hungTaskTimeoutMillis())
                .hungTaskScanMillis(Math.max(50, Math.min(250, o.hungTaskTimeoutMillis() / 4)))
                .hungTaskPanic(true)).build();
        AtomicReference<WatchdogReport> first = new AtomicReference<>();
        CountDownLatch reported = new CountDownLatch(1);
        long t0 = System.nanoTime();
        long detectedAt = -1;
        List<String> errors = new ArrayList<>();
        String progress = "";
        List<LockdepReport> lockdep;
        Map<String, Long> vmstat;
        String lockdepStats;
        List<Sample> samples = new ArrayList<>();
        Kernel k = Kernel.boot(config);
        try {
            k.watchdog().addReportListener(r -> {
                if (first.compareAndSet(null, r)) {
                    reported.countDown();
                }
            });
            Workload w;
            try {
                w = s.start(k, v, o.seed());
            } catch (RuntimeException e) {
                errors.add("setup failed: " + e);
                w = null;
            }
            long deadline = t0 + TimeUnit.SECONDS.toNanos(o.seconds());
            while (w != null) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !w.errors().isEmpty() || !k.oopses().isEmpty()) {
                    break;
                }
                if (awaitQuietly(reported, Math.min(left, TimeUnit.MILLISECONDS.toNanos(PROGRESS_INTERVAL_MS)))) {
                    detectedAt = System.nanoTime();
                    break;
                }
                progress = w.progress();
                samples.add(Sample.of(k, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)));
                o.progress().accept(String.format("[%4ds] %s/%s: %s", TimeUnit.NANOSECONDS.toSeconds(
                        System.nanoTime() - t0), s.name(), v.name(), progress));
            }
            if (w != null) {
                progress = w.progress();
                errors.addAll(w.errors());
                w.stop();
            }
            for (Throwable oops : k.oopses()) {
                errors.add("oops: " + oops);
            }
            lockdep = List.copyOf(k.lockdep().reports());
            vmstat = k.mm().vmstat().snapshot();
            lockdepStats = k.lockdep().stats().toString();
        } finally {
            k.close();
        }
        WatchdogReport r = first.get();
        Outcome outcome;
        if (r != null) {
            outcome = r.type() == WatchdogReport.Type.DEADLOCK ? Outcome.DEADLOCK : Outcome.STALL;
        } else if (!errors.isEmpty()) {
            outcome = Outcome.ERROR;
        } else if (!lockdep.isEmpty()) {
            outcome = Outcome.LOCKDEP;
        } else {
            outcome = Outcome.CLEAN;
        }
        long duration = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        return new RunResult(s.name(), v.name(), config.version().toString(), v.fixNames(), o.seed(), v.expected(),
                outcome, duration, detectedAt < 0 ? -1 : TimeUnit.NANOSECONDS.toMillis(detectedAt - t0), r, lockdep,
                s.lockdepBlindSpot(), errors, vmstat, lockdepStats, progress, samples);
    }

    private static boolean awaitQuietly(CountDownLatch l, long nanos) {
        try {
            return l.await(nanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true;
        }
    }
}
