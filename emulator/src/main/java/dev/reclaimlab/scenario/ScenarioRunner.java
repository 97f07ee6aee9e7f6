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
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs one scenario variant: boots a kernel with the variant's switches, starts the workload, waits for
 * the watchdog's first report or the end of the run's seconds (the workload's: counted from its start, not
 * from boot, so a set-up slowed by a loaded machine does not shorten them), taking a {@link Sample} of memory pressure each second, and
 * closes the kernel (which, after a deadlock, the watchdog's panic lets finish). The runner is the harness,
 * not emulated code: it waits with a plain latch.
 *
 * <p>CLEAN cannot lie: it means no watchdog report, the workload's {@link Workload#workDone() real work}
 * grew with no stretch standing still longer than the hung-task timeout up to the end, and close() ended
 * every task without a panic. A run that stood still or needed the panic is a STALL, with the reason in
 * its errors.
 */
public final class ScenarioRunner {
    private static final long PROGRESS_INTERVAL_MS = 1000;

    private ScenarioRunner() {
    }

    public static RunResult run(Scenario s, Variant v, RunOptions o) {
        KernelConfig config = v.configure(KernelConfig.builder()
                .version(s.version())
                .memory(o.memoryBytes())
                .cpus(s.cpus())
                .hungTaskTimeoutMillis(o.hungTaskTimeoutMillis())
                .hungTaskScanMillis(Math.max(50, Math.min(250, o.hungTaskTimeoutMillis() / 4)))
                .hungTaskPanic(true)).build();
        AtomicReference<WatchdogReport> first = new AtomicReference<>();
        // A proof that comes while the workload stops or the kernel closes has its time too.
        AtomicLong reportedAt = new AtomicLong(-1);
        CountDownLatch reported = new CountDownLatch(1);
        long t0 = System.nanoTime();
        long detectedAt = -1;
        List<String> errors = new ArrayList<>();
        String progress = "";
        List<LockdepReport> lockdep;
        long lockdepAt;
        Map<String, Long> vmstat;
        String lockdepStats;
        List<Sample> samples = new ArrayList<>();
        long stoodStill = 0;
        long started = -1;
        Kernel k = Kernel.boot(config);
        try {
            k.watchdog().addReportListener(r -> {
                reportedAt.compareAndSet(-1, System.nanoTime());
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
            // The run's seconds are the workload's: a set-up slowed by a loaded machine must not eat into them.
            started = System.nanoTime();
            long deadline = started + TimeUnit.SECONDS.toNanos(o.seconds());
            WorkSampler work = w == null ? null : new WorkSampler(w.workDone(), System.nanoTime());
            while (w != null) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !w.errors().isEmpty() || !k.oopses().isEmpty()) {
                    break;
                }
                if (awaitQuietly(reported, Math.min(left, TimeUnit.MILLISECONDS.toNanos(PROGRESS_INTERVAL_MS)))) {
                    detectedAt = System.nanoTime();
                    break;
                }
                long done = w.workDone();
                work.sample(done, System.nanoTime());
                progress = w.progress();
                samples.add(Sample.of(k, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), done));
                o.progress().accept(String.format("[%4ds] %s/%s: %s", TimeUnit.NANOSECONDS.toSeconds(
                        System.nanoTime() - t0), s.name(), v.name(), progress));
            }
            if (w != null) {
                work.sample(w.workDone(), System.nanoTime());
                progress = w.progress();
                errors.addAll(w.errors());
                w.stop();
            }
            for (Throwable oops : k.oopses()) {
                errors.add("oops: " + oops);
            }
            lockdep = List.copyOf(k.lockdep().reports());
            lockdepAt = k.lockdep().firstReportNanos();
            vmstat = k.mm().vmstat().snapshot();
            lockdepStats = k.lockdep().stats().toString();
            stoodStill = work == null ? 0 : TimeUnit.NANOSECONDS.toMillis(work.longestStill());
        } finally {
            closeKernel(k, errors);
        }
        WatchdogReport r = first.get();
        if (r != null && detectedAt < 0) {
            detectedAt = reportedAt.get();
        }
        List<String> unclean = new ArrayList<>();
        if (r == null && k.panicked()) {
            unclean.add("not clean: close() needed a panic (" + k.panicReason() + ")");
        }
        if (stoodStill > o.hungTaskTimeoutMillis()) {
            unclean.add("not clean: the workload's work stood still for " + stoodStill + " ms, longer than the"
                    + " hung-task timeout of " + o.hungTaskTimeoutMillis() + " ms");
        }
        Outcome outcome;
        if (r != null) {
            outcome = r.type() == WatchdogReport.Type.DEADLOCK ? Outcome.DEADLOCK : Outcome.STALL;
        } else if (!errors.isEmpty()) {
            outcome = Outcome.ERROR;
        } else if (!unclean.isEmpty()) {
            outcome = Outcome.STALL;
        } else if (!lockdep.isEmpty()) {
            outcome = Outcome.LOCKDEP;
        } else {
            outcome = Outcome.CLEAN;
        }
        errors.addAll(unclean);
        long end = System.nanoTime();
        long duration = TimeUnit.NANOSECONDS.toMillis(end - t0);
        long setup = TimeUnit.NANOSECONDS.toMillis((started < 0 ? end : started) - t0);
        return new RunResult(s.name(), v.name(), config.version().toString(), v.fixNames(), o.seed(), v.expected(),
                outcome, duration, setup, detectedAt < 0 ? -1 : TimeUnit.NANOSECONDS.toMillis(detectedAt - t0),
                lockdepAt == 0 ? -1 : Math.max(0, TimeUnit.NANOSECONDS.toMillis(lockdepAt - t0)), r, lockdep,
                s.lockdepBlindSpot(), errors, vmstat, lockdepStats, progress, samples, v.leaves());
    }

    /** close(), whose failure to stop a task is part of the result, not a crash of the runner. */
    private static void closeKernel(Kernel k, List<String> errors) {
        try {
            k.close();
        } catch (IllegalStateException e) {
            errors.add("close failed: " + e.getMessage());
        }
    }

    /** The longest time the workload's work counter stood still, up to the last sample. */
    private static final class WorkSampler {
        private long last;
        private long lastGrewAt;
        private long longest;

        WorkSampler(long value, long now) {
            this.last = value;
            this.lastGrewAt = now;
        }

        void sample(long value, long now) {
            if (value > last) {
                last = value;
                lastGrewAt = now;
            }
            longest = Math.max(longest, now - lastGrewAt);
        }

        long longestStill() {
            return longest;
        }
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
