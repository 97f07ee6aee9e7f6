package dev.reclaimlab.cli.report;

import dev.reclaimlab.cli.harness.HarnessFigures;
import dev.reclaimlab.cli.json.RunRecord;
import dev.reclaimlab.scenario.Outcome;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Adds runs up to a {@link Summary}; a pure function of the runs, whichever machines ran them. */
public final class Summaries {
    private Summaries() {
    }

    /** The runs in campaign order: scenario and variant by {@code order}, then seed. */
    public static List<RunRecord> sorted(List<RunRecord> runs, Comparator<String[]> order) {
        List<RunRecord> s = new ArrayList<>(runs);
        s.sort(Comparator.<RunRecord, String[]>comparing(r -> new String[] {r.scenario(), r.variant()}, order)
                .thenComparingLong(RunRecord::seed));
        return s;
    }

    public static Summary of(List<RunRecord> campaignOrdered, int planned, boolean interrupted,
                             Map<Outcome, Double> minRates, List<HarnessFigures> harness) {
        Map<String, List<RunRecord>> byVariant = new LinkedHashMap<>();
        for (RunRecord r : campaignOrdered) {
            byVariant.computeIfAbsent(r.scenario() + "/" + r.variant(), k -> new ArrayList<>()).add(r);
        }
        List<Summary.VariantSummary> variants = new ArrayList<>();
        boolean passed = !interrupted && campaignOrdered.size() == planned;
        for (List<RunRecord> runs : byVariant.values()) {
            Summary.VariantSummary v = variant(runs, minRates);
            passed &= v.passed();
            variants.add(v);
        }
        return new Summary("reclaimlab stress", planned, campaignOrdered.size(), interrupted, passed,
                new EnumMap<>(minRates), variants, failures(campaignOrdered), List.copyOf(harness));
    }

    static Summary.VariantSummary variant(List<RunRecord> runs, Map<Outcome, Double> minRates) {
        RunRecord first = runs.get(0);
        Outcome expected = first.expected();
        Map<Outcome, Integer> outcomes = new EnumMap<>(Outcome.class);
        for (Outcome o : Outcome.values()) {
            outcomes.put(o, 0);
        }
        List<Long> detection = new ArrayList<>();
        List<RunRecord> clean = new ArrayList<>();
        Map<String, List<Long>> failures = new LinkedHashMap<>();
        int hits = 0;
        for (RunRecord r : runs) {
            outcomes.merge(r.outcome(), 1, Integer::sum);
            if (r.asExpected()) {
                hits++;
            }
            if (r.detectedAfterMs() != null) {
                detection.add(r.detectedAfterMs());
            }
            if (r.outcome() == Outcome.CLEAN) {
                clean.add(r);
            }
            for (FailureTitle.Title t : FailureTitle.of(r)) {
                failures.computeIfAbsent(t.title(), k -> new ArrayList<>()).add(r.seed());
            }
        }
        double[] ci = Stats.wilson(hits, runs.size());
        Summary.Rate rate = new Summary.Rate(hits, runs.size(), Stats.round4((double) hits / runs.size()),
                Stats.round4(ci[0]), Stats.round4(ci[1]));
        Double min = minRates.get(expected);
        boolean passed = min != null ? rate.rate() >= min : hits == runs.size();
        List<Summary.FailureHit> fh = new ArrayList<>();
        failures.forEach((title, seeds) -> fh.add(new Summary.FailureHit(title, seeds.size(), List.copyOf(seeds))));
        return new Summary.VariantSummary(first.scenario(), first.variant(), expected, runs.size(), outcomes, rate,
                min, passed, detection(detection), pressure(clean), fh);
    }

    private static Summary.Detection detection(List<Long> ms) {
        if (ms.isEmpty()) {
            return null;
        }
        List<Long> s = ms.stream().sorted().toList();
        return new Summary.Detection(s.size(), Stats.percentile(s, 50), Stats.percentile(s, 90), s.get(s.size() - 1));
    }

    private static Summary.Pressure pressure(List<RunRecord> clean) {
        if (clean.isEmpty()) {
            return null;
        }
        List<Long> stalls = clean.stream().map(r -> r.vmstat("allocstall_normal")).sorted().toList();
        List<Long> direct = clean.stream().map(r -> r.vmstat("pgsteal_direct")).sorted().toList();
        List<Long> kswapd = clean.stream().map(r -> r.vmstat("pgsteal_kswapd")).sorted().toList();
        return new Summary.Pressure(clean.size(), Stats.percentile(stalls, 50), Stats.percentile(direct, 50),
                Stats.percentile(kswapd, 50), stalls.get(stalls.size() - 1));
    }

    private static List<Summary.Failure> failures(List<RunRecord> runs) {
        Map<String, FailureTitle.Kind> kinds = new LinkedHashMap<>();
        Map<String, RunRecord> examples = new LinkedHashMap<>();
        Map<String, Map<String, List<RunRecord>>> hits = new LinkedHashMap<>();
        for (RunRecord r : runs) {
            for (FailureTitle.Title t : FailureTitle.of(r)) {
                kinds.putIfAbsent(t.title(), t.kind());
                examples.putIfAbsent(t.title(), r);
                hits.computeIfAbsent(t.title(), k -> new LinkedHashMap<>())
                        .computeIfAbsent(r.scenario() + "/" + r.variant(), k -> new ArrayList<>()).add(r);
            }
        }
        List<Summary.Failure> out = new ArrayList<>();
        for (Map.Entry<String, Map<String, List<RunRecord>>> e : hits.entrySet()) {
            List<Summary.Hit> hs = new ArrayList<>();
            int count = 0;
            for (List<RunRecord> rs : e.getValue().values()) {
                RunRecord r0 = rs.get(0);
                hs.add(new Summary.Hit(r0.scenario(), r0.variant(), outcome(kinds.get(e.getKey())) == r0.expected(),
                        (int) rs.stream().filter(r -> !r.asExpected()).count(),
                                rs.stream().map(RunRecord::seed).toList()));
                count += rs.size();
            }
            RunRecord ex = examples.get(e.getKey());
            out.add(new Summary.Failure(e.getKey(), kinds.get(e.getKey()), count, hs, ex.key(), ex.command()));
        }
        return out;
    }

    /** The outcome a report of this kind gives its run. */
    static Outcome outcome(FailureTitle.Kind k) {
        return switch (k) {
            case DEADLOCK -> Outcome.DEADLOCK;
            case HUNG_TASK, STALL -> Outcome.STALL;
            case LOCKDEP -> Outcome.LOCKDEP;
            case ERROR -> Outcome.ERROR;
        };
    }
}
