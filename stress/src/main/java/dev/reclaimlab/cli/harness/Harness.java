package dev.reclaimlab.cli.harness;

import dev.reclaimlab.cli.campaign.Campaign;
import dev.reclaimlab.cli.campaign.RunSpec;
import dev.reclaimlab.cli.json.JsonCodec;
import dev.reclaimlab.cli.json.RunRecord;
import dev.reclaimlab.cli.json.RunRecords;
import dev.reclaimlab.cli.report.Durations;
import dev.reclaimlab.scenario.Outcome;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletionService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs a campaign {@code jobs} at a time through an executor. Each finished run is appended to runs.jsonl
 * at once (so a killed campaign keeps it) and gets a progress line: done/total, the run's outcome, the
 * outcomes so far, the rate and an ETA; an unexpected run also prints the command that reproduces it.
 * {@link #stop()} (from a shutdown hook) ends the campaign: queued runs are dropped, runs in flight are
 * abandoned, and what finished is returned.
 */
public final class Harness {
    private static final long POLL_MS = 200;

    private final RunExecutor executor;
    private final int jobs;
    private final boolean fork;
    private final String shard;
    private final PrintStream progress;
    private final Path runsJsonl;
    private volatile boolean stopping;

    /** What a campaign produced: the finished runs in completion order. */
    public record Result(List<RunRecord> runs, int planned, boolean interrupted, HarnessFigures figures) {
    }

    public Harness(RunExecutor executor, int jobs, boolean fork, String shard, PrintStream progress, Path runsJsonl) {
        if (jobs < 1) {
            throw new IllegalArgumentException("harness: jobs must be at least 1, not " + jobs);
        }
        this.executor = executor;
        this.jobs = jobs;
        this.fork = fork;
        this.shard = shard;
        this.progress = progress;
        this.runsJsonl = runsJsonl;
    }

    /** Asks a running campaign to stop; safe from any thread, e.g. a shutdown hook. */
    public void stop() {
        stopping = true;
    }

    public Result run(Campaign campaign) {
        Meter meter = new Meter();
        AtomicInteger threads = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(jobs, r -> {
            Thread t = new Thread(r, "reclaimlab-harness-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        CompletionService<RunRecord> done = new ExecutorCompletionService<>(pool);
        for (RunSpec spec : campaign.runs()) {
            done.submit(() -> runOne(spec));
        }
        List<RunRecord> runs = new ArrayList<>();
        Map<Outcome, Integer> outcomes = new EnumMap<>(Outcome.class);
        int unexpected = 0;
        long t0 = System.nanoTime();
        double runSeconds = 0;
        boolean interrupted = false;
        try (BufferedWriter jsonl = runsJsonl == null ? null
                : Files.newBufferedWriter(runsJsonl, StandardCharsets.UTF_8)) {
            while (runs.size() < campaign.size()) {
                if (stopping) {
                    interrupted = true;
                    break;
                }
                Future<RunRecord> f = done.poll(POLL_MS, TimeUnit.MILLISECONDS);
                if (f == null) {
                    continue;
                }
                if (stopping) {
                    interrupted = true;
                    break;
                }
                RunRecord r = f.get();
                runs.add(r);
                runSeconds += r.durationMs() / 1000.0;
                outcomes.merge(r.outcome(), 1, Integer::sum);
                if (!r.asExpected()) {
                    unexpected++;
                }
                if (jsonl != null) {
                    jsonl.write(JsonCodec.line(r));
                    jsonl.newLine();
                    jsonl.flush();
                }
                progress.println(line(r, runs.size(), campaign.size(), outcomes, unexpected, System.nanoTime() - t0));
                if (!r.asExpected()) {
                    progress.println("    repro: " + r.command());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + runsJsonl + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            interrupted = true;
        } catch (ExecutionException e) {
            throw new IllegalStateException("harness: a run failed outside its record", e.getCause());
        } finally {
            pool.shutdownNow();
            if (interrupted) {
                executor.abort();
            }
        }
        return new Result(List.copyOf(runs), campaign.size(), interrupted,
                meter.figures(shard, jobs, fork, runs.size(), runs.isEmpty() ? 0 : runSeconds / runs.size()));
    }

    private RunRecord runOne(RunSpec spec) {
        if (stopping) {
            return RunRecords.failed(spec, 0, "harness: stopped before the run started", "");
        }
        long t0 = System.nanoTime();
        try {
            return executor.run(spec);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return RunRecords.failed(spec, ms(t0), "harness: interrupted", "");
        } catch (RuntimeException | Error e) {
            // A run that throws (an escaped oops, OutOfMemoryError) is that run's ERROR, not the campaign's end.
            return RunRecords.failed(spec, ms(t0), "harness: " + e, "");
        }
    }

    private static long ms(long t0) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }

    static String line(RunRecord r, int done, int total, Map<Outcome, Integer> outcomes, int unexpected,
                       long elapsedNanos) {
        StringBuilder sb = new StringBuilder();
        int w = Integer.toString(total).length();
        sb.append(String.format(Locale.ROOT, "[%" + w + "d/%d %3d%%] ", done, total, done * 100 / total));
        sb.append(r.scenario()).append('/').append(r.variant()).append(" seed ").append(r.seed()).append(": ")
                .append(r.outcome());
        if (r.detectedAfterMs() != null) {
            sb.append(" after ").append(r.detectedAfterMs()).append(" ms");
        }
        sb.append(r.asExpected() ? " ok" : " UNEXPECTED (expected " + r.expected() + ")");
        sb.append(" | ");
        List<String> counts = new ArrayList<>();
        outcomes.forEach((o, n) -> counts.add(n + " " + o));
        sb.append(String.join(", ", counts)).append(", ").append(unexpected).append(" unexpected");
        long etaSeconds = done == 0 ? 0 : Math.round(elapsedNanos / 1e9 * (total - done) / done);
        sb.append(" | ETA ").append(Durations.text(etaSeconds));
        return sb.toString();
    }
}
