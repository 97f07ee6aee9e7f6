package dev.reclaimlab.cli.report;

import dev.reclaimlab.cli.harness.HarnessFigures;
import dev.reclaimlab.scenario.Outcome;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The summary as a terminal reads it: one row per variant, the distinct failures, the harness's speed. */
public final class SummaryTable {
    private SummaryTable() {
    }

    public static String text(Summary s) {
        StringBuilder sb = new StringBuilder();
        int w = Math.max(16, s.variants().stream().mapToInt(v -> v.scenario().length() + v.variant().length() + 1)
                .max().orElse(16));
        sb.append(String.format(Locale.ROOT, "%-" + w + "s %-8s %5s", "VARIANT", "EXPECTED", "RUNS"));
        for (Outcome o : Outcome.values()) {
            sb.append(String.format(Locale.ROOT, " %8s", o));
        }
        sb.append(String.format(Locale.ROOT, "  %-20s %-22s %s%n", "RATE [95% CI]", "DETECTED p50/p90/max", "PASS"));
        for (Summary.VariantSummary v : s.variants()) {
            sb.append(String.format(Locale.ROOT, "%-" + w + "s %-8s %5d", v.scenario() + "/" + v.variant(),
                    v.expected(), v.runs()));
            for (Outcome o : Outcome.values()) {
                sb.append(String.format(Locale.ROOT, " %8d", v.outcomes().get(o)));
            }
            sb.append(String.format(Locale.ROOT, "  %-20s %-22s %s%n", rate(v.expectedRate()), detection(v.detection()),
                    v.passed() ? "ok" : "FAIL" + (v.minRate() == null ? "" : " (< " + pct(v.minRate()) + ")")));
        }
        if (!s.failures().isEmpty()) {
            sb.append("\ndistinct failures:\n");
            for (Summary.Failure f : s.failures()) {
                sb.append("  ").append(f.title()).append("  (").append(f.count())
                        .append(f.count() == 1 ? " run" : " runs")
                        .append(")\n");
                for (Summary.Hit h : f.hits()) {
                    sb.append("      ").append(h.scenario()).append('/').append(h.variant())
                            .append(" (").append(h.verdict()).append(") seeds ")
                            .append(seeds(h.seeds())).append('\n');
                }
                sb.append("      repro: ").append(f.command()).append('\n');
            }
        }
        for (HarnessFigures h : s.harness()) {
            sb.append('\n').append(harness(h));
        }
        sb.append(String.format(Locale.ROOT, "%n%d of %d runs finished%s: %s%n", s.finished(), s.planned(),
                s.interrupted() ? " (interrupted)" : "", s.passed() ? "PASSED" : "FAILED"));
        return sb.toString();
    }

    public static String harness(HarnessFigures h) {
        return String.format(Locale.ROOT, "harness%s: %d runs in %s at -j%d (%s, %d cores): %.1f runs/min,"
                        + " %.2f CPU s/run, cores %.0f%% busy, mean run %.1f s, harness thread %.2f s CPU%n",
                h.shard() == null || h.shard().equals("1/1") ? "" : " shard " + h.shard(), h.runs(),
                Durations.text(h.wallMs() / 1000), h.jobs(), h.fork() ? "forked JVMs" : "in one JVM", h.cores(),
                h.runsPerMinute(), h.cpuSecondsPerRun(), h.coreUtilisation() * 100, h.meanRunSeconds(),
                h.harnessThreadCpuMs() / 1000.0);
    }

    static String rate(Summary.Rate r) {
        return pct(r.rate()) + " [" + pct(r.low()) + "-" + pct(r.high()) + "]";
    }

    static String pct(double v) {
        double p = v * 100;
        return p == Math.rint(p) ? String.format(Locale.ROOT, "%.0f%%", p) : String.format(Locale.ROOT, "%.1f%%", p);
    }

    static String detection(Summary.Detection d) {
        if (d == null) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.1f/%.1f/%.1f s", d.medianMs() / 1000.0, d.p90Ms() / 1000.0,
                d.maxMs() / 1000.0);
    }

    /** "1..5,7,9..10". */
    public static String seeds(List<Long> seeds) {
        List<Long> s = seeds.stream().sorted().distinct().toList();
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < s.size(); ) {
            int j = i;
            while (j + 1 < s.size() && s.get(j + 1) == s.get(j) + 1) {
                j++;
            }
            parts.add(j == i ? Long.toString(s.get(i)) : s.get(i) + ".." + s.get(j));
            i = j + 1;
        }
        return String.join(",", parts);
    }
}
