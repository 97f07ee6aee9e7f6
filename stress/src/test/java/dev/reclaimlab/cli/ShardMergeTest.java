package dev.reclaimlab.cli;

import dev.reclaimlab.cli.json.JsonCodec;
import dev.reclaimlab.cli.json.RunRecord;
import dev.reclaimlab.scenario.FakeScenario;
import org.jsoup.Jsoup;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** A campaign run as 4 shards (by --shard, by a Kubernetes index, by a Slurm array) merges to the unsharded one. */
class ShardMergeTest {
    private static final String[] CAMPAIGN = {"--variant", "abba,sequential", "--seeds", "1..6", "--seconds", "3",
        "--memory", "16m", "-j", "4"};

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void fourShardsMergeToExactlyTheRunsOfTheUnshardedCampaign(@TempDir Path dir) throws Exception {
        Path whole = dir.resolve("whole");
        assertThat(Runs.fake().main(with(CAMPAIGN, "--out", whole.toString()))).isEqualTo(1);
        List<Path> shards = new ArrayList<>();
        for (int i = 1; i <= 4; i++) {
            Path out = dir.resolve("shard-" + i);
            shards.add(out);
            // Shard 1 by option, 2 as a Kubernetes Indexed Job pod, 3 and 4 as Slurm array tasks 10 and 11 of 9..12.
            Runs cli = switch (i) {
                case 1 -> Runs.fake();
                case 2 -> new Runs(FakeScenario.all(), Map.of("JOB_COMPLETION_INDEX", "1"));
                default -> new Runs(FakeScenario.all(), Map.of("SLURM_ARRAY_TASK_ID", Integer.toString(8 + i),
                        "SLURM_ARRAY_TASK_MIN", "9", "SLURM_ARRAY_TASK_COUNT", "4"));
            };
            String[] args = switch (i) {
                case 1 -> with(CAMPAIGN, "--out", out.toString(), "--shard", "1/4");
                case 2 -> with(CAMPAIGN, "--out", out.toString(), "--shards", "4");
                default -> with(CAMPAIGN, "--out", out.toString());
            };
            cli.main(args);
            assertThat(cli.out()).contains("(shard " + i + "/4 of a campaign of 12)");
        }
        Set<String> seen = new HashSet<>();
        int total = 0;
        for (Path s : shards) {
            for (RunRecord r : JsonCodec.readRuns(s.resolve("runs.jsonl"))) {
                assertThat(seen.add(r.key())).as("shards are disjoint: " + r.key()).isTrue();
                total++;
            }
        }
        assertThat(total).isEqualTo(12);

        Path merged = dir.resolve("merged");
        Runs cli = Runs.fake();
        List<String> args = new ArrayList<>(List.of("merge", "--out", merged.toString()));
        shards.forEach(s -> args.add(s.toString()));
        assertThat(cli.main(args.toArray(String[]::new))).isEqualTo(1);

        List<RunRecord> a = JsonCodec.readRuns(whole.resolve("runs.jsonl"));
        List<RunRecord> b = JsonCodec.readRuns(merged.resolve("runs.jsonl"));
        assertThat(b).extracting(RunRecord::key)
                .containsExactlyInAnyOrderElementsOf(a.stream().map(RunRecord::key).toList());
        assertThat(b).extracting(r -> r.key() + "=" + r.outcome())
                .containsExactlyInAnyOrderElementsOf(a.stream().map(r -> r.key() + "=" + r.outcome()).toList());

        JsonNode sa = JsonCodec.tree(Files.readString(whole.resolve("summary.json")));
        JsonNode sb = JsonCodec.tree(Files.readString(merged.resolve("summary.json")));
        assertThat(sb.get("planned").asInt()).isEqualTo(12);
        assertThat(sb.get("finished").asInt()).isEqualTo(12);
        assertThat(sb.get("harness")).hasSize(4);
        assertThat(withoutTimes(sb.get("variants"))).isEqualTo(withoutTimes(sa.get("variants")));
        assertThat(withoutTimes(sb.get("failures"))).isEqualTo(withoutTimes(sa.get("failures")));

        org.w3c.dom.Document x = javax.xml.parsers.DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(merged.resolve("junit.xml").toFile());
        assertThat(x.getElementsByTagName("testcase").getLength()).isEqualTo(12);
        assertThat(Jsoup.parse(merged.resolve("report.html").toFile(), StandardCharsets.UTF_8.name())
                .select("table.runs tbody tr.run")).hasSize(12);
    }

    @Test
    void mergingAShardTwiceIsBadInput(@TempDir Path dir) throws Exception {
        Path s = dir.resolve("s");
        Files.createDirectories(s);
        Files.writeString(s.resolve("runs.jsonl"), "");
        Runs cli = Runs.fake();
        assertThat(cli.main("merge", "--out", dir.resolve("m").toString(), dir.resolve("none").toString()))
                .isEqualTo(2);
        assertThat(cli.err()).startsWith("reclaimlab merge: ").contains("not a stress output directory");
        Files.writeString(s.resolve("runs.jsonl"), "{\"scenario\":\"fake\",\"variant\":\"abba\",\"seed\":1,"
                + "\"expected\":\"DEADLOCK\",\"outcome\":\"DEADLOCK\"}\n");
        assertThat(cli.main("merge", "--out", dir.resolve("m").toString(), s.toString(), s.toString())).isEqualTo(2);
        assertThat(cli.err()).contains("is in both");
        assertThat(cli.err().lines().count()).isEqualTo(1);
    }

    /** Detection times differ between two runs of the same seed; counts, rates, titles and seeds do not. */
    private static JsonNode withoutTimes(JsonNode n) {
        JsonNode c = n.deepCopy();
        for (JsonNode v : c) {
            ((ObjectNode) v).remove("detection");
            ((ObjectNode) v).remove("cleanPressure");
        }
        return c;
    }

    private static String[] with(String[] base, String... more) {
        List<String> l = new ArrayList<>(List.of("stress"));
        l.addAll(List.of(base));
        l.addAll(List.of(more));
        return l.toArray(String[]::new);
    }
}
