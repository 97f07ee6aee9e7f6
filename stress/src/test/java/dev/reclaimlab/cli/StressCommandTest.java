package dev.reclaimlab.cli;

import dev.reclaimlab.cli.json.JsonCodec;
import dev.reclaimlab.cli.json.RunRecord;
import dev.reclaimlab.scenario.FakeScenario;
import org.jsoup.Jsoup;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.NodeList;
import tools.jackson.databind.JsonNode;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import javax.xml.parsers.DocumentBuilderFactory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * One campaign of the fake scenario (3 variants x seeds 1..8, 3 s runs, -j4 in one JVM), and every output
 * it writes, parsed: runs.jsonl, summary.json, junit.xml, report.html.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StressCommandTest {
    private static final int SEEDS = 8;

    private Path dir;
    private int exit;
    private String console;
    private List<RunRecord> runs;
    private JsonNode summary;

    @BeforeAll
    void runTheCampaign(@TempDir Path tmp) throws Exception {
        dir = tmp;
        Runs cli = Runs.fake();
        exit = cli.main("stress", "--seeds", "1.." + SEEDS, "--seconds", "3", "--memory", "16m", "-j", "4", "--out",
                dir.toString());
        console = cli.out();
        runs = JsonCodec.readRuns(dir.resolve("runs.jsonl"));
        summary = JsonCodec.tree(Files.readString(dir.resolve("summary.json")));
    }

    private static long abbaDeadlocks() {
        return LongStream.rangeClosed(1, SEEDS).filter(FakeScenario::abbaOverlaps).count();
    }

    @Test
    void everyRunIsRecordedWithTheCommandThatRepeatsIt() {
        assertThat(runs).hasSize(3 * SEEDS);
        assertThat(runs).extracting(RunRecord::key).doesNotHaveDuplicates();
        RunRecord r = runs.stream().filter(x -> x.key().equals("fake/abba/3")).findFirst().orElseThrow();
        assertThat(r.command()).isEqualTo("reclaimlab run fake --variant abba --seed 3 --seconds 3 --memory 16m");
        assertThat(r.outcome()).hasToString("DEADLOCK");
        assertThat(r.cycle()).extracting(c -> c.task().replaceAll(":\\d+$", ""))
                .containsExactlyInAnyOrder("worker1", "worker2");
        assertThat(console).contains("repro: reclaimlab run fake --variant fixed --seed 5 --seconds 3 --memory 16m");
        assertThat(console).containsPattern("\\[24/24 100%\\] fake/\\S+ seed \\d+: ");
    }

    @Test
    void exitIsOneBecauseAVariantMissedItsExpectedOutcome() {
        assertThat(exit).isEqualTo(1);
        assertThat(summary.get("passed").asBoolean()).isFalse();
        assertThat(summary.get("planned").asInt()).isEqualTo(3 * SEEDS);
        assertThat(summary.get("finished").asInt()).isEqualTo(3 * SEEDS);
    }

    @Test
    void perVariantStatsCountOutcomesWithAWilsonInterval() {
        Map<String, JsonNode> v = variants();
        assertThat(v).containsOnlyKeys("fake/abba", "fake/fixed", "fake/sequential");
        JsonNode abba = v.get("fake/abba");
        assertThat(abba.get("runs").asInt()).isEqualTo(SEEDS);
        assertThat(abba.get("outcomes").get("DEADLOCK").asLong()).isEqualTo(abbaDeadlocks());
        assertThat(abba.get("outcomes").get("LOCKDEP").asLong()).isEqualTo(SEEDS - abbaDeadlocks());
        JsonNode rate = abba.get("expectedRate");
        assertThat(rate.get("rate").asDouble()).isCloseTo(abbaDeadlocks() / (double) SEEDS, within(1e-4));
        // Wilson 95 % for 6 of 8: [0.4093, 0.9285].
        assertThat(rate.get("low").asDouble()).isCloseTo(0.4093, within(1e-3));
        assertThat(rate.get("high").asDouble()).isCloseTo(0.9285, within(1e-3));
        assertThat(abba.get("passed").asBoolean()).isFalse();
        JsonNode det = abba.get("detection");
        assertThat(det.get("runs").asLong()).isEqualTo(abbaDeadlocks());
        assertThat(det.get("medianMs").asLong()).isBetween(1L, det.get("p90Ms").asLong());
        assertThat(det.get("p90Ms").asLong()).isLessThanOrEqualTo(det.get("maxMs").asLong());
        JsonNode fixed = v.get("fake/fixed");
        assertThat(fixed.get("outcomes").get("CLEAN").asInt()).isEqualTo(SEEDS - 1);
        assertThat(fixed.get("cleanPressure").get("runs").asInt()).isEqualTo(SEEDS - 1);
        assertThat(v.get("fake/sequential").get("passed").asBoolean()).isTrue();
    }

    @Test
    void failuresAreDeduplicatedByTitleWithTheSeedsThatHitThem() {
        Map<String, JsonNode> f = new TreeMap<>();
        summary.get("failures").forEach(x -> f.put(x.get("title").asString(), x));
        String deadlock = "deadlock: worker1 -> worker2 -> worker1";
        assertThat(f).containsKey(deadlock);
        JsonNode d = f.get(deadlock);
        assertThat(d.get("kind").asString()).isEqualTo("DEADLOCK");
        assertThat(d.get("count").asLong()).isEqualTo(abbaDeadlocks() + 1);
        Map<String, JsonNode> hits = new TreeMap<>();
        d.get("hits").forEach(h -> hits.put(h.get("variant").asString(), h));
        assertThat(longs(hits.get("abba").get("seeds"))).containsExactly(1L, 2L, 3L, 5L, 6L, 7L);
        assertThat(hits.get("abba").get("expected").asBoolean()).isTrue();
        assertThat(longs(hits.get("fixed").get("seeds"))).containsExactly(FakeScenario.FIXED_REGRESSION_SEED);
        assertThat(hits.get("fixed").get("expected").asBoolean()).as("a deadlock in a fixed variant").isFalse();
        assertThat(f.keySet()).anyMatch(t -> t.startsWith("possible deadlock in "));
        JsonNode lockdep = f.entrySet().stream().filter(e -> e.getKey().startsWith("possible deadlock in "))
                .findFirst().orElseThrow().getValue();
        // Lockdep sees the inversion in every abba and sequential run, and in the fixed variant's regression.
        assertThat(lockdep.get("count").asLong()).isEqualTo(SEEDS + SEEDS + 1);
    }

    @Test
    void harnessMeasuresItself() {
        JsonNode h = summary.get("harness").get(0);
        assertThat(h.get("jobs").asInt()).isEqualTo(4);
        assertThat(h.get("runs").asInt()).isEqualTo(3 * SEEDS);
        assertThat(h.get("runsPerMinute").asDouble()).isPositive();
        assertThat(h.get("cpuSecondsPerRun").asDouble()).isPositive();
        assertThat(console).contains("runs/min", "CPU s/run");
    }

    @Test
    void junitXmlHasATestcasePerRunAndAFailureWithTheReportForEachUnexpectedOne() throws Exception {
        org.w3c.dom.Document x = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(dir.resolve("junit.xml").toFile());
        org.w3c.dom.Element suite = x.getDocumentElement();
        assertThat(suite.getTagName()).isEqualTo("testsuite");
        long unexpected = runs.stream().filter(r -> !r.asExpected()).count();
        assertThat(suite.getAttribute("tests")).isEqualTo(Integer.toString(3 * SEEDS));
        assertThat(suite.getAttribute("failures")).isEqualTo(Long.toString(unexpected));
        NodeList cases = suite.getElementsByTagName("testcase");
        assertThat(cases.getLength()).isEqualTo(3 * SEEDS);
        org.w3c.dom.Element regression = null;
        for (int i = 0; i < cases.getLength(); i++) {
            org.w3c.dom.Element c = (org.w3c.dom.Element) cases.item(i);
            if (c.getAttribute("name").equals("fixed/seed-5")) {
                regression = c;
            }
        }
        assertThat(regression).isNotNull();
        assertThat(regression.getAttribute("classname")).isEqualTo("reclaimlab.fake");
        org.w3c.dom.Element failure = (org.w3c.dom.Element) regression.getElementsByTagName("failure").item(0);
        assertThat(failure.getAttribute("type")).isEqualTo("TestFail");
        assertThat(failure.getAttribute("message"))
                .isEqualTo("DEADLOCK (expected CLEAN): deadlock: worker1 -> worker2 -> worker1");
        assertThat(failure.getTextContent()).contains("INFO: proven deadlock", "Wait-for cycle:");
        assertThat(regression.getElementsByTagName("system-out").item(0).getTextContent())
                .startsWith("repro: reclaimlab run fake --variant fixed --seed 5");
    }

    @Test
    void reportHtmlHasTheTableEachFailureDrawnAndATimeline() throws Exception {
        Document h = Jsoup.parse(dir.resolve("report.html").toFile(), StandardCharsets.UTF_8.name());
        assertThat(h.select("table#summary tbody tr.variant")).extracting(e -> e.attr("data-variant"))
                .containsExactly("fake/abba", "fake/fixed", "fake/sequential");
        assertThat(h.select("table#summary tr.variant.fail")).hasSize(2);
        int failures = summary.get("failures").size();
        assertThat(h.select("article.failure")).hasSize(failures);
        for (Element a : h.select("article.failure")) {
            List<Element> svgs = a.select("svg.cycle, svg.lock-graph");
            assertThat(svgs).as(a.attr("data-title")).hasSize(1);
        }
        Element deadlock = h.selectFirst("article.failure[data-kind=DEADLOCK]");
        assertThat(deadlock.attr("data-title")).isEqualTo("deadlock: worker1 -> worker2 -> worker1");
        assertThat(deadlock.select("svg.cycle g.task text.label")).extracting(Element::text)
                .allMatch(t -> t.matches("worker[12]:\\d+")).hasSize(2);
        assertThat(deadlock.select("svg.cycle path.edge")).hasSize(2);
        assertThat(deadlock.select("svg.cycle text.edge-label")).extracting(Element::text)
                .anyMatch(t -> t.contains("mutex"));
        assertThat(deadlock.select("table.tasks tbody tr")).hasSize(2);
        assertThat(deadlock.select("table.tasks ol.held li")).isNotEmpty();
        assertThat(h.select("article.failure[data-kind=LOCKDEP] svg.lock-graph g.lock")).hasSize(2);
        assertThat(h.select("article.failure[data-kind=LOCKDEP] table.chain tbody tr")).isNotEmpty();
        Element timeline = h.selectFirst("section#timeline div.timeline-run:not([hidden]) svg.timeline");
        assertThat(timeline).isNotNull();
        assertThat(timeline.attr("data-run")).isEqualTo("fake/abba/4");
        assertThat(h.select("section#timeline select#timeline-run option")).hasSizeGreaterThanOrEqualTo(3);
        assertThat(h.select("section#throughput svg.throughput[data-scenario=fake] text.legend"))
                .extracting(Element::text).containsExactlyInAnyOrder("\u25A0 abba (" + SEEDS + ")",
                        "\u25A0 fixed (" + SEEDS + ")", "\u25A0 sequential (" + SEEDS + ")");
        assertThat(h.select("table.runs tbody tr.run")).hasSize(3 * SEEDS);
        assertThat(h.select("section#harness table tbody tr")).hasSize(1);
    }

    @Test
    void reportHtmlIsSelfContained() throws Exception {
        Document h = Jsoup.parse(dir.resolve("report.html").toFile(), StandardCharsets.UTF_8.name());
        assertThat(h.select("script[src], link[href], img[src], iframe, object, embed")).isEmpty();
        assertThat(h.select("[href]")).extracting(e -> e.attr("href")).allMatch(x -> x.startsWith("#"));
        assertThat(h.select("style")).hasSize(1);
        assertThat(h.select("script")).hasSize(1);
        assertThat(h.selectFirst("style").data()).doesNotContain("@import", "url(");
    }

    @Test
    void aTimelineIsDrawnFromTheRunsPerSecondSamples() throws Exception {
        Runs cli = Runs.fake();
        Path out = dir.resolve("timeline");
        assertThat(cli.main("stress", "--variant", "fixed", "--seeds", "1", "--seconds", "3", "--memory", "16m",
                "--out", out.toString(), "--timeline", "fake/fixed/1")).isZero();
        RunRecord r = JsonCodec.readRuns(out.resolve("runs.jsonl")).get(0);
        assertThat(r.samples()).hasSizeBetween(2, 3);
        Document h = Jsoup.parse(out.resolve("report.html").toFile(), StandardCharsets.UTF_8.name());
        Element svg = h.selectFirst("svg.timeline[data-run=fake/fixed/1]");
        assertThat(svg.select("g.panel")).extracting(e -> e.attr("data-panel"))
                .containsExactly("free-memory", "direct-reclaim", "reclaimed", "throttled", "work-done");
        String[] points = svg.selectFirst("polyline[data-series=nr_free_pages]").attr("points").split(" ");
        assertThat(points).hasSize(r.samples().size());
    }

    private Map<String, JsonNode> variants() {
        Map<String, JsonNode> m = new TreeMap<>();
        summary.get("variants").forEach(v -> m.put(v.get("scenario").asString() + "/" + v.get("variant")
                .asString(), v));
        return m;
    }

    private static List<Long> longs(JsonNode array) {
        List<Long> l = new ArrayList<>();
        array.forEach(n -> l.add(n.asLong()));
        return l;
    }
}
