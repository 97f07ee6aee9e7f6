package dev.reclaimlab.cli;

import dev.reclaimlab.cli.campaign.Campaign;
import dev.reclaimlab.cli.harness.HarnessFigures;
import dev.reclaimlab.cli.json.JsonCodec;
import dev.reclaimlab.cli.json.RunRecord;
import dev.reclaimlab.cli.report.Outputs;
import dev.reclaimlab.cli.report.Summaries;
import dev.reclaimlab.cli.report.Summary;
import dev.reclaimlab.cli.report.SummaryTable;
import dev.reclaimlab.scenario.Outcome;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tools.jackson.core.JacksonException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code reclaimlab merge DIR...}: joins the outputs of a campaign's shards into one runs.jsonl, summary.json,
 * junit.xml and report.html, as if one machine had run them all. A shard without its summary.json did not
 * finish: the merge counts as interrupted. Exit status as {@code stress}.
 */
@Command(name = "merge", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Join shard outputs (each a stress --out DIR) into one summary.json, junit.xml and report.html.",
            "Exit 0 when every shard finished and every variant met its expected outcome, 1 when not, 2 for bad input."})
final class MergeCommand implements Callable<Integer> {
    private final Cli cli;

    @Parameters(paramLabel = "DIR", arity = "1..*", description = "Shard output directories.")
    List<Path> dirs;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "stress-merged",
            description = "Where the merged outputs go (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--min-rate", paramLabel = "OUTCOME=RATE", split = ",",
            description = "As for stress (default: the shards' own).")
    List<String> minRates = new ArrayList<>();

    @Option(names = "--timeline", paramLabel = "SCENARIO/VARIANT/SEED",
            description = "The run whose memory timeline report.html shows first.")
    String timeline;

    MergeCommand(Cli cli) {
        this.cli = cli;
    }

    @Override
    public Integer call() throws IOException {
        Map<String, Path> seen = new LinkedHashMap<>();
        List<RunRecord> runs = new ArrayList<>();
        List<HarnessFigures> harness = new ArrayList<>();
        Map<Outcome, Double> rates = minRates.isEmpty() ? null : StressCommand.minRates(minRates);
        Map<Outcome, Double> shardRates = new EnumMap<>(Outcome.class);
        int planned = 0;
        boolean interrupted = false;
        List<String> warnings = new ArrayList<>();
        for (Path d : dirs) {
            Path jsonl = d.resolve(Outputs.RUNS);
            if (!Files.isRegularFile(jsonl)) {
                throw new UsageException(d + " is not a stress output directory: it has no " + Outputs.RUNS);
            }
            List<RunRecord> rs;
            try {
                rs = JsonCodec.readRuns(jsonl);
            } catch (IOException e) {
                throw new UsageException(e.getMessage().lines().findFirst().orElse("cannot read " + jsonl));
            }
            for (RunRecord r : rs) {
                Path before = seen.putIfAbsent(r.key(), d);
                if (before != null) {
                    throw new UsageException("run " + r.key() + " is in both " + before + " and " + d
                            + ": merge each shard once");
                }
                runs.add(r);
            }
            Path summary = d.resolve(Outputs.SUMMARY);
            if (Files.isRegularFile(summary)) {
                Summary s;
                try {
                    s = JsonCodec.read(Files.readString(summary, StandardCharsets.UTF_8), Summary.class);
                } catch (JacksonException e) {
                    throw new UsageException(summary + " is not a summary: " + e.getOriginalMessage().lines()
                            .findFirst().orElse(""));
                }
                planned += s.planned();
                interrupted |= s.interrupted();
                harness.addAll(s.harness());
                if (s.minRates() != null) {
                    shardRates.putAll(s.minRates());
                }
            } else {
                warnings.add("reclaimlab merge: " + d + " has no " + Outputs.SUMMARY
                        + ": that shard did not finish; its " + rs.size() + " runs are merged");
                planned += rs.size();
                interrupted = true;
            }
        }
        warnings.forEach(cli.err()::println);
        Files.createDirectories(out);
        List<RunRecord> sorted = Summaries.sorted(runs, Campaign.order(cli.scenarios()));
        StringBuilder jsonl = new StringBuilder();
        for (RunRecord r : sorted) {
            jsonl.append(JsonCodec.line(r)).append('\n');
        }
        JsonCodec.writeFile(out.resolve(Outputs.RUNS), jsonl.toString());
        Summary s = Summaries.of(sorted, planned, interrupted, rates != null ? rates : shardRates, harness);
        List<String> names = dirs.stream().map(Path::toString).toList();
        Outputs.write(out, s, sorted, "reclaimlab merge " + String.join(" ", names), Instant.now(), timeline);
        cli.out().printf("reclaimlab merge: %d runs from %d directories into %s%n%n", sorted.size(), dirs.size(), out);
        cli.out().print(SummaryTable.text(s));
        return s.passed() ? 0 : 1;
    }
}
