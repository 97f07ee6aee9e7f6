package dev.reclaimlab.cli.report;

import dev.reclaimlab.cli.json.RunRecord;
import dev.reclaimlab.scenario.Outcome;
import dev.reclaimlab.scenario.Sample;
import org.jsoup.Jsoup;
import org.jsoup.nodes.Element;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The throughput panel: per-second work from cumulative samples, runs that ended early, medians by variant. */
class ThroughputSvgTest {

    /** A run whose workload did {@code perSecond[i]} work in its second {@code i}, sampled each second. */
    private static RunRecord run(String variant, long seed, Outcome outcome, long seconds, long... perSecond) {
        List<Sample> samples = new ArrayList<>();
        long done = 0;
        for (int i = 0; i < perSecond.length; i++) {
            done += perSecond[i];
            samples.add(new Sample((i + 1) * 1000L, 100, 0, 0, 0, 0, 0, done));
        }
        return new RunRecord("s", variant, seed, Outcome.CLEAN, outcome, outcome == Outcome.CLEAN,
                perSecond.length * 1000L, null, null, null, null, "", null, null, null, "", seconds, 0L, "16m",
                "cmd", null, null, samples);
    }

    @Test
    void aRunsWorkPerSecondIsTheDifferenceOfItsCumulativeCounter() {
        assertThat(ThroughputSvg.perSecond(run("v", 1, Outcome.CLEAN, 3, 10, 20, 5))).containsExactly(10, 20, 5);
    }

    @Test
    void aRunThatEndedEarlyWithoutRunningCleanDidNothingAfterwardsButACleanRunsGapIsUnknown() {
        assertThat(ThroughputSvg.perSecond(run("v", 1, Outcome.STALL, 4, 10, 20))).containsExactly(10, 20, 0, 0);
        assertThat(ThroughputSvg.perSecond(run("v", 1, Outcome.CLEAN, 3, 10, 20))).containsExactly(10, 20, Double.NaN);
    }

    @Test
    void eachSecondsMedianIsOverTheRunsThatHaveIt() {
        double[] m = ThroughputSvg.median(List.of(new double[] {1, 5, Double.NaN}, new double[] {3, 7, Double.NaN},
                new double[] {2, 100, Double.NaN}), 3);
        assertThat(m).containsExactly(2, 7, Double.NaN);
        assertThat(ThroughputSvg.median(List.of(new double[] {1}, new double[] {4}), 1)).containsExactly(2.5);
    }

    @Test
    void theSvgHasALineAVariantWithItsRunCountAndTheMedianPoints() {
        String svg = ThroughputSvg.draw("s", List.of(run("stalls", 1, Outcome.STALL, 3, 100, 1),
                run("stalls", 2, Outcome.STALL, 3, 100, 3, 1), run("fixed", 1, Outcome.CLEAN, 3, 100, 100, 100)));
        Element root = Jsoup.parse(svg).selectFirst("svg.throughput[data-scenario=s]");
        assertThat(root.select("text.legend")).extracting(Element::text)
                .containsExactly("\u25A0 stalls (2)", "\u25A0 fixed (1)");
        // medians per second: stalls 100, (1+3)/2 = 2, (0+1)/2 = 0.5; fixed 100 throughout
        assertThat(root.select("circle title")).extracting(Element::text)
                .contains("1.0 s: 100 per s", "2.0 s: 2 per s", "3.0 s: 0.5 per s");
        assertThat(root.select("polyline")).hasSize(2);
    }

    @Test
    void aSecondNoRunHasASampleForIsAGapInTheLineNotAZero() {
        List<Sample> late = List.of(new Sample(3000, 100, 0, 0, 0, 0, 0, 0), new Sample(4000, 100, 0, 0, 0, 0, 0, 50),
                new Sample(5000, 100, 0, 0, 0, 0, 0, 100));
        RunRecord r = new RunRecord("s", "v", 1, Outcome.CLEAN, Outcome.CLEAN, true, 5000L, null, null, null, null,
                "", null, null, null, "", 5L, 0L, "16m", "cmd", null, null, late);
        Element root = Jsoup.parse(ThroughputSvg.draw("s", List.of(r))).selectFirst("svg.throughput");
        assertThat(root.select("polyline")).hasSize(1);
        assertThat(root.select("circle title")).extracting(Element::text)
                .containsExactly("3.0 s: 0 per s", "4.0 s: 50 per s", "5.0 s: 50 per s");
    }
}
