package dev.reclaimlab.cli;

import dev.reclaimlab.cli.campaign.Campaign;
import dev.reclaimlab.cli.campaign.Shard;
import dev.reclaimlab.cli.harness.ForkExecutor;
import dev.reclaimlab.cli.harness.Harness;
import dev.reclaimlab.cli.harness.InProcessExecutor;
import dev.reclaimlab.cli.harness.RunExecutor;
import dev.reclaimlab.cli.json.RunRecord;
import dev.reclaimlab.cli.report.Outputs;
import dev.reclaimlab.cli.report.Summaries;
import dev.reclaimlab.cli.report.Summary;
import dev.reclaimlab.cli.report.SummaryTable;
import dev.reclaimlab.scenario.Outcome;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code reclaimlab stress}: a campaign of scenarios x variants x seeds, {@code -j} runs at a time, in this
 * JVM or in a child JVM each, optionally one shard of it; runs.jsonl, summary.json, junit.xml and report.html
 * in {@code --out}. Exit 0 only when every variant met its expected outcome in every run (or at its
 * {@code --min-rate}), 1 when not, 2 for bad input.
 */
@Command(name = "stress", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, sortOptions = false,
        description = {"Run a campaign: scenarios x variants x seeds, -j at a time, and report per variant the rate"
                + " of the expected outcome (95%% Wilson interval), time to detection, the pressure of clean runs and"
                + " each distinct failure with the seeds that hit it.",
            "Outputs in --out: runs.jsonl, summary.json, junit.xml (xfstests -R xunit), report.html.",
            "Exit 0 when every variant met its expected outcome in every run (or --min-rate), 1 when not, 2 for"
                + " bad input."})
final class StressCommand implements Callable<Integer> {
    /** How long Ctrl-C waits for the outputs of what finished to be written. */
    private static final long STOP_WAIT_SECONDS = 30;

    private final Cli cli;
    private final Map<String, String> env;
    private final ForkExecutor.Child child;

    @Option(names = "--scenario", paramLabel = "NAME", split = ",",
            description = "Scenarios to run (repeat or comma-separate; default: all).")
    List<String> scenarios = new ArrayList<>();

    @Option(names = "--variant", paramLabel = "NAME", split = ",",
            description = "Variants to run (default: every variant of each scenario).")
    List<String> variants = new ArrayList<>();

    @Option(names = "--seeds", paramLabel = "LIST", defaultValue = "1..10",
            description = "Seeds: 1..200, 1,5,9 or 1..10,20 (default: ${DEFAULT-VALUE}).")
    String seeds;

    @Option(names = "--seconds", paramLabel = "N", defaultValue = "10",
            description = "Length of each run (default: ${DEFAULT-VALUE}).")
    long seconds;

    @Option(names = "--memory", paramLabel = "SIZE", defaultValue = "64m", converter = Memory.Converter.class,
            description = "Each kernel's memory (default: ${DEFAULT-VALUE}).")
    long memory;

    @Option(names = "--campaign", paramLabel = "FILE",
            description = "A campaign file (JSON) instead of --scenario/--variant/--seeds.")
    Path campaignFile;

    @Option(names = {"-j", "--jobs"}, paramLabel = "N",
            description = "Runs at a time (default: the cores, here ${DEFAULT-VALUE}).")
    int jobs = Runtime.getRuntime().availableProcessors();

    @Option(names = "--fork", description = "Run each run in its own child JVM (isolation; costs a JVM start per run).")
    boolean fork;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "stress-out",
            description = "Output directory (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--shard", paramLabel = "I/N",
            description = "Run the I-th of N disjoint slices (default: from JOB_COMPLETION_INDEX or"
                    + " SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT, else all).")
    String shard;

    @Option(names = "--shards", paramLabel = "N",
            description = "The shard count when the index comes from JOB_COMPLETION_INDEX (a Job's completions).")
    Integer shards;

    @Option(names = "--min-rate", paramLabel = "OUTCOME=RATE", split = ",",
            description = "Pass a variant expecting OUTCOME at this rate of it, e.g. DEADLOCK=0.9.")
    List<String> minRates = new ArrayList<>();

    @Option(names = "--timeline", paramLabel = "SCENARIO/VARIANT/SEED",
            description = "The run whose memory timeline report.html shows first (default: the first unexpected run).")
    String timeline;

    @Option(names = "--dry-run", description = "Print the command of each run this shard would run, and stop.")
    boolean dryRun;

    StressCommand(Cli cli, Map<String, String> env, ForkExecutor.Child child) {
        this.cli = cli;
        this.env = env;
        this.child = child;
    }

    @Override
    public Integer call() throws IOException {
        Campaign full = campaign();
        Shard sh = shard != null ? Shard.parse(shard) : Shard.fromEnvironment(env, shards);
        if (shard != null && shards != null) {
            throw new UsageException("--shard I/N already gives the count; --shards is for JOB_COMPLETION_INDEX");
        }
        Map<Outcome, Double> rates = minRates(minRates);
        if (jobs < 1) {
            throw new UsageException("-j must be at least 1, not " + jobs);
        }
        Campaign c = full.shard(sh);
        if (dryRun) {
            c.runs().forEach(r -> cli.out().println(r.command()));
            cli.out().printf(Locale.ROOT, "%d runs%s%n", c.size(), sh.count() > 1 ? " (shard " + sh + " of "
                    + full.size() + ")" : "");
            return 0;
        }
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new UsageException("cannot create --out " + out + ": " + e.getMessage());
        }
        PrintStream o = cli.out();
        o.printf(Locale.ROOT, "reclaimlab stress: %d runs%s, -j%d %s, outputs in %s%n", c.size(),
                sh.count() > 1 ? " (shard " + sh + " of a campaign of " + full.size() + ")" : "", jobs,
                fork ? "(a JVM per run)" : "(in one JVM)", out);
        Instant start = Instant.now();
        String command = "reclaimlab stress " + String.join(" ", commandLine());
        try (RunExecutor ex = fork ? new ForkExecutor(child, out.resolve("logs"))
                : new InProcessExecutor(cli.scenarios())) {
            Harness h = new Harness(ex, jobs, fork, sh.toString(), o, out.resolve(Outputs.RUNS));
            CountDownLatch written = new CountDownLatch(1);
            Thread hook = new Thread(() -> {
                h.stop();
                try {
                    written.await(STOP_WAIT_SECONDS, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "reclaimlab-stop");
            Runtime.getRuntime().addShutdownHook(hook);
            try {
                Harness.Result r = h.run(c);
                List<RunRecord> runs = Summaries.sorted(r.runs(), Campaign.order(cli.scenarios()));
                Summary s = Summaries.of(runs, r.planned(), r.interrupted(), rates, List.of(r.figures()));
                Outputs.write(out, s, runs, command, start, timeline);
                o.println();
                o.print(SummaryTable.text(s));
                if (r.interrupted()) {
                    o.println("interrupted: kept the " + runs.size() + " runs that finished in " + out);
                }
                return s.passed() ? 0 : 1;
            } finally {
                written.countDown();
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // Ctrl-C: the hook is running and waits for the outputs just written.
                }
            }
        }
    }

    private Campaign campaign() {
        if (campaignFile != null) {
            if (!scenarios.isEmpty() || !variants.isEmpty()) {
                throw new UsageException("--campaign FILE names its own scenarios and variants: drop --scenario"
                        + " and --variant");
            }
            return Campaign.of(cli.scenarios(), campaignFile, seconds, memory);
        }
        return Campaign.of(cli.scenarios(), scenarios, variants, seeds, seconds, memory);
    }

    static Map<Outcome, Double> minRates(List<String> specs) {
        Map<Outcome, Double> m = new EnumMap<>(Outcome.class);
        for (String spec : specs) {
            int eq = spec.indexOf('=');
            if (eq < 0) {
                throw new UsageException("--min-rate " + spec + ": write OUTCOME=RATE, e.g. DEADLOCK=0.9");
            }
            Outcome o;
            try {
                o = Outcome.valueOf(spec.substring(0, eq).strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new UsageException("--min-rate " + spec + ": no outcome '" + spec.substring(0, eq) + "'; there"
                        + " are " + List.of(Outcome.values()));
            }
            double rate;
            try {
                rate = Double.parseDouble(spec.substring(eq + 1).strip());
            } catch (NumberFormatException e) {
                throw new UsageException("--min-rate " + spec + ": '" + spec.substring(eq + 1) + "' is not a rate");
            }
            if (!(rate >= 0 && rate <= 1)) {
                throw new UsageException("--min-rate " + spec + ": a rate is between 0 and 1");
            }
            m.put(o, rate);
        }
        return m;
    }

    /** This command's options as given, for the record (junit.xml, report.html). */
    private List<String> commandLine() {
        List<String> a = new ArrayList<>();
        if (campaignFile != null) {
            a.addAll(List.of("--campaign", campaignFile.toString()));
        } else {
            scenarios.forEach(s -> a.addAll(List.of("--scenario", s)));
            variants.forEach(v -> a.addAll(List.of("--variant", v)));
            a.addAll(List.of("--seeds", seeds));
        }
        a.addAll(List.of("--seconds", Long.toString(seconds), "--memory", Memory.format(memory), "-j",
                Integer.toString(jobs)));
        if (fork) {
            a.add("--fork");
        }
        if (shard != null) {
            a.addAll(List.of("--shard", shard));
        }
        minRates.forEach(r -> a.addAll(List.of("--min-rate", r)));
        return a;
    }
}
