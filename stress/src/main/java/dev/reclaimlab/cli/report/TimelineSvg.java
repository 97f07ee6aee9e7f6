package dev.reclaimlab.cli.report;

import dev.reclaimlab.cli.json.RunRecord;
import dev.reclaimlab.scenario.Sample;

import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * A run's memory over time from its per-second samples, as five panels on one time axis: free memory,
 * direct-reclaim stalls per second, pages stolen per second (direct and kswapd), throttle sleeps per second,
 * and the workload's own work per second (its progress counter, in the scenario's units: mostly bytes), so
 * a stall shows as the last panel falling while the others say why. Time is from boot: a dotted line marks
 * the workload's start (after its set-up), a dashed one when the watchdog reported.
 */
final class TimelineSvg {
    static final int WIDTH = 1000;
    static final int LEFT = 60;
    static final int RIGHT = 150;
    static final int PANEL = 86;
    static final int GAP = 30;
    static final int TOP = 22;
    private static final int PANELS = 5;
    private static final long PAGE_KIB = 4;
    /** Up to this many samples, each is also drawn as a dot (a one-sample run is otherwise invisible). */
    private static final int MAX_POINTS = 40;

    private TimelineSvg() {
    }

    /** Counter rates: differences of cumulative counters over the sample interval (counters start at boot). */
    static double[] rate(List<Sample> s, ToDoubleFunction<Sample> f) {
        double[] r = new double[s.size()];
        double prevT = 0;
        double prev = 0;
        for (int i = 0; i < s.size(); i++) {
            double t = s.get(i).atMs() / 1000.0;
            double v = f.applyAsDouble(s.get(i));
            r[i] = t > prevT ? Math.max(0, v - prev) / (t - prevT) : 0;
            prevT = t;
            prev = v;
        }
        return r;
    }

    static String draw(RunRecord r) {
        List<Sample> s = r.samples();
        double end = Math.max(r.durationMs() / 1000.0, s.isEmpty() ? 1 : s.get(s.size() - 1).atMs() / 1000.0);
        double plotW = WIDTH - LEFT - RIGHT;
        int height = TOP + PANELS * (PANEL + GAP) + 10;
        StringBuilder sb = new StringBuilder();
        sb.append("<svg class=\"timeline\" data-run=\"").append(Html.esc(r.key()))
                .append("\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ").append(WIDTH).append(' ')
                .append(height).append("\" role=\"img\" aria-label=\"memory timeline of ").append(Html.esc(r.key()))
                .append("\">\n");
        double[] t = new double[s.size()];
        for (int i = 0; i < s.size(); i++) {
            t[i] = s.get(i).atMs() / 1000.0;
        }
        double[] free = new double[s.size()];
        for (int i = 0; i < s.size(); i++) {
            free[i] = s.get(i).nrFreePages() * PAGE_KIB / 1024.0;
        }
        double memMib = memoryMib(r.memory());
        panel(sb, 0, "free memory", "MiB", t, end, plotW, memMib, new Series[] {new Series("nr_free_pages", free,
                "#1565c0", false)});
        panel(sb, 1, "direct reclaim", "stalls/s", t, end, plotW, 0, new Series[] {
            new Series("allocstall", rate(s, Sample::allocstallNormal), "#c62828", true)});
        panel(sb, 2, "reclaimed", "pages/s", t, end, plotW, 0, new Series[] {
            new Series("pgsteal_direct", rate(s, Sample::pgstealDirect), "#c62828", false),
            new Series("pgsteal_kswapd", rate(s, Sample::pgstealKswapd), "#2e7d32", false)});
        panel(sb, 3, "throttled", "sleeps/s", t, end, plotW, 0, new Series[] {
            new Series("reclaim", rate(s, Sample::reclaimThrottled), "#ef6c00", true),
            new Series("dirty", rate(s, Sample::dirtyThrottled), "#6a1b9a", false)});
        panel(sb, 4, "work done", "per s", t, end, plotW, 0, new Series[] {
            new Series("workDone", rate(s, Sample::workDone), "#00838f", false)});
        double axisY = TOP + PANELS * (PANEL + GAP) - GAP + 14;
        for (int sec = 0; sec <= (int) end; sec += tick(end)) {
            double x = LEFT + sec / end * plotW;
            sb.append("<text class=\"tick\" x=\"").append(Html.n(x)).append("\" y=\"").append(Html.n(axisY))
                    .append("\" text-anchor=\"middle\">").append(sec).append(" s</text>\n");
        }
        if (r.setupMs() != null && r.setupMs() > 0) {
            double x = LEFT + r.setupMs() / 1000.0 / end * plotW;
            sb.append("<line class=\"setup\" x1=\"").append(Html.n(x)).append("\" x2=\"").append(Html.n(x))
                    .append("\" y1=\"").append(TOP).append("\" y2=\"").append(Html.n(axisY - 12)).append("\"/>")
                    .append("<text class=\"setup-label\" x=\"").append(Html.n(x + 4)).append("\" y=\"")
                    .append(Html.n(axisY - 18)).append("\" text-anchor=\"start\">workload starts</text>\n");
        }
        if (r.detectedAfterMs() != null) {
            double x = LEFT + r.detectedAfterMs() / 1000.0 / end * plotW;
            sb.append("<line class=\"detected\" x1=\"").append(Html.n(x)).append("\" x2=\"").append(Html.n(x))
                    .append("\" y1=\"").append(TOP - 6).append("\" y2=\"").append(Html.n(axisY - 12)).append("\"/>")
                    .append("<text class=\"detected-label\" x=\"")
                    .append(Html.n(x > LEFT + plotW * 0.7 ? x - 4 : x + 4))
                    .append("\" y=\"").append(TOP - 5).append("\" text-anchor=\"")
                    .append(x > LEFT + plotW * 0.7 ? "end" : "start").append("\">")
                    .append(Html.esc(r.outcome().name().toLowerCase(Locale.ROOT)))
                    .append(" reported at ").append(String.format(Locale.ROOT, "%.1f", r.detectedAfterMs() / 1000.0))
                    .append(" s</text>\n");
        }
        return sb.append("</svg>").toString();
    }

    record Series(String name, double[] v, String colour, boolean bars) {
    }

    static void panel(StringBuilder sb, int k, String title, String unit, double[] t, double end, double plotW,
                              double fixedMax, Series[] series) {
        double top = TOP + k * (PANEL + GAP);
        double max = fixedMax;
        for (Series s : series) {
            for (double v : s.v()) {
                if (!Double.isNaN(v)) {
                    max = Math.max(max, v);
                }
            }
        }
        max = max <= 0 ? 1 : max == fixedMax ? fixedMax : niceCeil(max);
        sb.append("<g class=\"panel\" data-panel=\"").append(Html.id(title)).append("\">");
        sb.append("<rect class=\"frame\" x=\"").append(LEFT).append("\" y=\"").append(Html.n(top)).append("\" width=\"")
                .append(Html.n(plotW)).append("\" height=\"").append(PANEL).append("\"/>");
        sb.append("<text class=\"panel-title\" x=\"").append(LEFT).append("\" y=\"").append(Html.n(top - 5))
                .append("\">").append(Html.esc(title)).append(" <tspan class=\"unit\">(").append(Html.esc(unit))
                .append(")</tspan></text>");
        sb.append("<text class=\"tick\" x=\"").append(LEFT - 8).append("\" y=\"").append(Html.n(top + PANEL))
                .append("\" text-anchor=\"end\">0</text>");
        sb.append("<text class=\"tick\" x=\"").append(LEFT - 8).append("\" y=\"").append(Html.n(top + 10))
                .append("\" text-anchor=\"end\">").append(human(max)).append("</text>");
        sb.append("<line class=\"grid\" x1=\"").append(LEFT).append("\" x2=\"").append(Html.n(LEFT + plotW))
                .append("\" y1=\"").append(Html.n(top + PANEL / 2.0)).append("\" y2=\"")
                .append(Html.n(top + PANEL / 2.0))
                .append("\"/>");
        int legend = 0;
        for (Series s : series) {
            if (s.bars()) {
                double bw = Math.max(2, plotW / Math.max(1, end) * 0.6);
                for (int i = 0; i < t.length; i++) {
                    double h = s.v()[i] / max * PANEL;
                    double x = LEFT + t[i] / end * plotW - bw;
                    sb.append("<rect class=\"bar\" fill=\"").append(s.colour()).append("\" x=\"").append(Html.n(x))
                            .append("\" y=\"").append(Html.n(top + PANEL - h)).append("\" width=\"").append(Html.n(bw))
                            .append("\" height=\"").append(Html.n(h)).append("\"><title>").append(Html.n(t[i]))
                            .append(" s: ").append(human(s.v()[i])).append(' ').append(Html.esc(unit))
                            .append("</title></rect>");
                }
            } else if (t.length > 0) {
                // A NaN is a second nothing is known of: the line breaks there instead of falling to zero.
                StringBuilder pts = new StringBuilder();
                for (int i = 0; i <= t.length; i++) {
                    if (i < t.length && !Double.isNaN(s.v()[i])) {
                        pts.append(Html.n(LEFT + t[i] / end * plotW)).append(',')
                                .append(Html.n(top + PANEL - s.v()[i] / max * PANEL)).append(' ');
                    } else if (pts.length() > 0) {
                        sb.append("<polyline class=\"series\" data-series=\"").append(s.name()).append("\" stroke=\"")
                                .append(s.colour()).append("\" points=\"").append(pts.toString().strip()).append("\"/>");
                        pts.setLength(0);
                    }
                }
                if (t.length <= MAX_POINTS) {
                    for (int i = 0; i < t.length; i++) {
                        if (Double.isNaN(s.v()[i])) {
                            continue;
                        }
                        sb.append("<circle class=\"point\" r=\"3\" fill=\"").append(s.colour()).append("\" cx=\"")
                                .append(Html.n(LEFT + t[i] / end * plotW)).append("\" cy=\"")
                                .append(Html.n(top + PANEL - s.v()[i] / max * PANEL)).append("\"><title>")
                                .append(Html.n(t[i])).append(" s: ").append(human(s.v()[i])).append(' ')
                                .append(Html.esc(unit)).append("</title></circle>");
                    }
                }
            }
            sb.append("<text class=\"legend\" style=\"fill:").append(s.colour()).append("\" x=\"")
                    .append(Html.n(LEFT + plotW + 10)).append("\" y=\"").append(Html.n(top + 14 + 16 * legend++))
                    .append("\">\u25A0 ").append(Html.esc(s.name())).append("</text>");
        }
        sb.append("</g>\n");
    }

    static int tick(double end) {
        for (int step : new int[] {1, 2, 5, 10, 15, 30, 60, 120, 300, 600}) {
            if (end / step <= 12) {
                return step;
            }
        }
        return 1200;
    }

    private static double niceCeil(double v) {
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : new double[] {1, 2, 2.5, 5, 10}) {
            if (m * p >= v) {
                return m * p;
            }
        }
        return 10 * p;
    }

    static String human(double v) {
        if (v >= 1e6) {
            return String.format(Locale.ROOT, "%.1fM", v / 1e6);
        }
        if (v >= 1e4) {
            return String.format(Locale.ROOT, "%.0fk", v / 1e3);
        }
        if (v >= 1e3) {
            return String.format(Locale.ROOT, "%.1fk", v / 1e3);
        }
        return v == Math.rint(v) ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v);
    }

    private static double memoryMib(String memory) {
        try {
            return dev.reclaimlab.kernel.KernelConfig.memparse(memory) / (1024.0 * 1024.0);
        } catch (RuntimeException e) {
            return 0;
        }
    }
}
