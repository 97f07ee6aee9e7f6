package dev.reclaimlab.cli;

import dev.reclaimlab.cli.json.JsonCodec;
import dev.reclaimlab.cli.json.RunRecord;
import dev.reclaimlab.scenario.Outcome;
import dev.reclaimlab.scenario.Scenarios;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class ForkAndRealRunTest {
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void forkRunsEachRunInAChildJvmAndReadsItsJsonBack(@TempDir Path dir) throws Exception {
        Runs cli = Runs.fake();
        assertThat(cli.main("stress", "--fork", "--variant", "abba", "--seeds", "3,4", "--seconds", "2", "--memory",
                "16m", "-j", "2", "--out", dir.toString())).isEqualTo(1);
        List<RunRecord> runs = JsonCodec.readRuns(dir.resolve("runs.jsonl"));
        assertThat(runs).extracting(RunRecord::seed).containsExactlyInAnyOrder(3L, 4L);
        RunRecord three = runs.stream().filter(r -> r.seed() == 3).findFirst().orElseThrow();
        assertThat(three.outcome()).isEqualTo(Outcome.DEADLOCK);
        assertThat(three.cycle()).hasSize(2);
        assertThat(Files.readString(dir.resolve("logs").resolve("fake_abba_3.log"))).contains("INFO: proven deadlock");
        assertThat(JsonCodec.tree(Files.readString(dir.resolve("summary.json"))).get("harness").get(0).get("fork")
                .asBoolean()).isTrue();
    }

    /**
     * What CI runs of the real thing: every scenario this build has, every variant, one short seed, with its
     * JSON, XML and HTML checked, in a few seconds. Two seconds is too short to promise a deadlock, so a
     * variant that expects one may end CLEAN (or LOCKDEP, predicted); a fixed variant must be CLEAN (or LOCKDEP
     * of only the kinds its fix leaves), and
     * nothing may stall or fail.
     */
    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aShortCampaignOfEveryRealScenarioAndVariant(@TempDir Path dir) throws Exception {
        Runs cli = new Runs(Scenarios.all(), Map.of());
        int exit = cli.main("stress", "--seeds", "1", "--seconds", "2", "-j", "2", "--out", dir.toString());
        assertThat(exit).as(cli.out()).isBetween(0, 1);
        int variants = Scenarios.all().stream().mapToInt(s -> s.variants().size()).sum();
        List<RunRecord> runs = JsonCodec.readRuns(dir.resolve("runs.jsonl"));
        assertThat(runs).hasSize(variants);
        for (RunRecord r : runs) {
            // A deadlock the run ended too soon for may already have been predicted by lockdep (LOCKDEP); a
            // CLEAN variant's LOCKDEP is as expected only when all of it is of a kind its fix leaves.
            List<Outcome> ok = r.expected() == Outcome.DEADLOCK ? List.of(Outcome.CLEAN, Outcome.LOCKDEP, r.expected())
                    : r.asExpected() ? List.of(r.outcome()) : List.of(Outcome.CLEAN, r.expected());
            assertThat(r.outcome()).as(r.key() + ": " + r.errors() + " " + r.lockdepNote()).isIn(ok);
        }
        var summary = JsonCodec.tree(Files.readString(dir.resolve("summary.json")));
        assertThat(summary.get("variants")).hasSize(variants);
        assertThat(summary.get("finished").asInt()).isEqualTo(variants);
        var junit = javax.xml.parsers.DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(dir.resolve("junit.xml").toFile());
        assertThat(junit.getElementsByTagName("testcase").getLength()).isEqualTo(variants);
        var html = org.jsoup.Jsoup.parse(dir.resolve("report.html").toFile(), "UTF-8");
        assertThat(html.select("table#summary tbody tr.variant")).hasSize(variants);
        assertThat(html.select("section#timeline svg.timeline")).hasSizeGreaterThanOrEqualTo(variants);
        // A cycle has a task and an edge at least: nfsd's self-deadlock with rpc.nfsd 1 is one task whose
        // COMMIT only it could receive, drawn as an edge back to itself.
        assertThat(html.select("article.failure[data-kind=DEADLOCK]")).allSatisfy(a -> {
            assertThat(a.select("svg.cycle g.task")).isNotEmpty();
            assertThat(a.select("svg.cycle path.edge")).isNotEmpty();
        });
    }
}
