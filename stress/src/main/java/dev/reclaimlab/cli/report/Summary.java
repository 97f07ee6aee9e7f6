package dev.reclaimlab.cli.report;

import dev.reclaimlab.cli.harness.HarnessFigures;
import dev.reclaimlab.scenario.Outcome;

import java.util.List;
import java.util.Map;

/**
 * summary.json: what a campaign (or the merge of its shards) showed. {@code passed} is the exit status:
 * every planned run finished and every variant met its expected outcome in every run, or at the rate
 * {@code --min-rate} asked for its expected outcome.
 */
public record Summary(String tool, int planned, int finished, boolean interrupted, boolean passed,
                      Map<Outcome, Double> minRates, List<VariantSummary> variants, List<Failure> failures,
                      List<HarnessFigures> harness) {

    /** One scenario variant's runs. */
    public record VariantSummary(String scenario, String variant, Outcome expected, int runs,
                                 Map<Outcome, Integer> outcomes, Rate expectedRate, Double minRate, boolean passed,
                                 Detection detection, Pressure cleanPressure, List<FailureHit> failures) {
    }

    /** k of n runs, the rate and its 95 % Wilson interval. */
    public record Rate(int hits, int runs, double rate, double low, double high) {
    }

    /** From a run's start to the watchdog's report, over the runs that had one. */
    public record Detection(int runs, long medianMs, long p90Ms, long maxMs) {
    }

    /** Medians over clean runs of the counters that show memory pressure was there. */
    public record Pressure(int runs, long allocstallMedian, long pgstealDirectMedian, long pgstealKswapdMedian,
                           long allocstallMax) {
    }

    /** A distinct failure within one variant: its title, how many runs hit it, their seeds. */
    public record FailureHit(String title, int count, List<Long> seeds) {
    }

    /**
     * A distinct failure across the campaign: its title and kind, every variant it hit (with whether that
     * variant expects it: a reproduced bug rather than a regression), and the first run that hit it.
     */
    public record Failure(String title, FailureTitle.Kind kind, int count, List<Hit> hits, String example,
                          String command) {
    }

    /**
     * A variant a failure hit: whether the failure is that variant's expected outcome, and in how many of
     * those runs the variant missed its expected outcome (a lockdep warning beside an expected deadlock: 0).
     */
    public record Hit(String scenario, String variant, boolean expected, int unexpectedRuns, List<Long> seeds) {

        /** "expected", "alongside the expected outcome" or "UNEXPECTED in N runs". */
        public String verdict() {
            return expected ? "expected" : unexpectedRuns == 0 ? "alongside the expected outcome"
                    : "UNEXPECTED in " + unexpectedRuns + (unexpectedRuns == 1 ? " run" : " runs");
        }
    }
}
