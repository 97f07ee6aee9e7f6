package dev.reclaimlab.cli.report;

import dev.reclaimlab.cli.json.RunRecord;
import dev.reclaimlab.scenario.Outcome;
import dev.reclaimlab.scenario.Sample;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One scenario's throughput by variant (harness tooling): at each second, the median over a variant's runs of
 * the work its workload did in that second (the per-second difference of {@code Sample.workDone}, in the
 * scenario's units), one line a variant on one panel, so a variant that stalls and its fix read side by side.
 * A run that ended before its planned seconds without running clean (a deadlock's panic, a stall) did no
 * more work: it counts as zero for the rest of them; a second no run has a sample for (the set-up, before the
 * first sample) is left out, a gap in the line, not a zero.
 */
final class ThroughputSvg {
    /** Room right of the plot for the legend: variant names are longer than a timeline's series names. */
    private static final int LEGEND = 280;
    private static final String[] COLOURS = {"#00838f", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#1565c0",
        "#6d4c41", "#ad1457"};

    private ThroughputSvg() {
    }

    /** Whether any of {@code runs} has a sample to draw. */
    static boolean drawable(List<RunRecord> runs) {
        return runs.stream().anyMatch(r -> !r.samples().isEmpty());
    }

    /**
     * A run's work per second, second {@code i} from boot (from {@code i} to {@code i + 1} s) at index {@code i},
     * through its set-up and its planned seconds: NaN where nothing is known, zero after a run that ended early without running clean.
     */
    static double[] perSecond(RunRecord r) {
        int horizon = (int) Math.max(1, r.seconds() + (r.setupMs() == null ? 0 : (r.setupMs() + 999) / 1000));
        double[] v = new double[horizon];
        Arrays.fill(v, Double.NaN);
        List<Sample> s = r.samples();
        double[] rate = TimelineSvg.rate(s, Sample::workDone);
        int last = -1;
        for (int i = 0; i < s.size(); i++) {
            int sec = (int) Math.round(s.get(i).atMs() / 1000.0) - 1;
            if (sec >= 0 && sec < horizon) {
                v[sec] = rate[i];
                last = Math.max(last, sec);
            }
        }
        if (r.outcome() != Outcome.CLEAN) {
            for (int sec = last + 1; sec < horizon; sec++) {
                v[sec] = 0;
            }
        }
        return v;
    }

    /** The median of each second over {@code runs}, NaN where no run has a value. */
    static double[] median(List<double[]> runs, int horizon) {
        double[] m = new double[horizon];
        double[] col = new double[runs.size()];
        for (int sec = 0; sec < horizon; sec++) {
            int n = 0;
            for (double[] r : runs) {
                if (sec < r.length && !Double.isNaN(r[sec])) {
                    col[n++] = r[sec];
                }
            }
            if (n == 0) {
                m[sec] = Double.NaN;
                continue;
            }
            Arrays.sort(col, 0, n);
            m[sec] = n % 2 == 1 ? col[n / 2] : (col[n / 2 - 1] + col[n / 2]) / 2;
        }
        return m;
    }

    /** The panel for one scenario's runs: a median line per variant, in the order the variants first ran. */
    static String draw(String scenario, List<RunRecord> runs) {
        Map<String, List<double[]>> byVariant = new LinkedHashMap<>();
        int horizon = 1;
        for (RunRecord r : runs) {
            double[] v = perSecond(r);
            byVariant.computeIfAbsent(r.variant(), k -> new ArrayList<>()).add(v);
            horizon = Math.max(horizon, v.length);
        }
        double[] t = new double[horizon];
        for (int i = 0; i < horizon; i++) {
            t[i] = i + 1;
        }
        List<TimelineSvg.Series> series = new ArrayList<>();
        int c = 0;
        for (Map.Entry<String, List<double[]>> e : byVariant.entrySet()) {
            double[] m = median(e.getValue(), horizon);
            series.add(new TimelineSvg.Series(e.getKey() + " (" + e.getValue().size() + ")", m,
                    COLOURS[c++ % COLOURS.length], false));
        }
        double plotW = TimelineSvg.WIDTH - TimelineSvg.LEFT - TimelineSvg.RIGHT;
        int height = TimelineSvg.TOP + TimelineSvg.PANEL + TimelineSvg.GAP + 10;
        StringBuilder sb = new StringBuilder();
        sb.append("<svg class=\"throughput\" data-scenario=\"").append(Html.esc(scenario))
                .append("\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ")
                .append(TimelineSvg.LEFT + (int) plotW + LEGEND).append(' ').append(height)
                .append("\" role=\"img\" aria-label=\"work done per second by variant of ")
                .append(Html.esc(scenario)).append("\">\n");
        TimelineSvg.panel(sb, 0, scenario + ": work done, median of the runs", "per s", t, horizon, plotW, 0,
                series.toArray(new TimelineSvg.Series[0]));
        double axisY = TimelineSvg.TOP + TimelineSvg.PANEL + 14;
        for (int sec = 0; sec <= horizon; sec += TimelineSvg.tick(horizon)) {
            double x = TimelineSvg.LEFT + sec / (double) horizon * plotW;
            sb.append("<text class=\"tick\" x=\"").append(Html.n(x)).append("\" y=\"").append(Html.n(axisY))
                    .append("\" text-anchor=\"middle\">").append(sec).append(" s</text>\n");
        }
        return sb.append("</svg>").toString();
    }
}
