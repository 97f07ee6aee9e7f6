package dev.reclaimlab.cli.report;

import dev.reclaimlab.cli.harness.HarnessFigures;
import dev.reclaimlab.cli.json.CycleTask;
import dev.reclaimlab.cli.json.RunRecord;
import dev.reclaimlab.scenario.Outcome;
import tools.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * report.html: one self-contained file (inline CSS, JS and SVG; nothing fetched), readable without
 * JavaScript. The summary table (outcome bars, rate with its interval), each scenario's throughput by variant,
 * each distinct failure with its wait-for cycle drawn, its stacks and held locks or lockdep's chain, a memory
 * timeline of a chosen run (a menu switches between the campaign's most telling runs), every run with the
 * command that repeats it, and the harness's own speed.
 */
public final class HtmlReport {
    /** Timelines embedded: the chosen run, each failure's first run, each variant's first run. */
    static final int MAX_TIMELINES = 60;

    private HtmlReport() {
    }

    public static String write(Summary s, List<RunRecord> runs, String command, String timeline) {
        StringBuilder sb = new StringBuilder(64 * 1024);
        sb.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .append("<title>reclaimlab stress: ").append(s.passed() ? "PASSED" : "FAILED").append(", ")
                .append(s.finished()).append(" runs</title>\n<style>\n").append(resource("report.css"))
                .append("</style>\n</head>\n<body>\n");
        header(sb, s, command);
        summary(sb, s);
        throughput(sb, runs);
        Map<String, RunRecord> byKey = new LinkedHashMap<>();
        for (RunRecord r : runs) {
            byKey.put(r.key(), r);
        }
        failures(sb, s, byKey);
        timelines(sb, s, runs, byKey, timeline);
        runsTable(sb, runs);
        harness(sb, s);
        sb.append("<script>\n").append(resource("report.js")).append("</script>\n</body>\n</html>\n");
        return sb.toString();
    }

    private static void header(StringBuilder sb, Summary s, String command) {
        sb.append("<header><h1>reclaimlab stress <span class=\"verdict ").append(s.passed() ? "pass" : "fail")
                .append("\">").append(s.passed() ? "PASSED" : "FAILED").append("</span></h1>\n<p class=\"meta\">")
                .append(s.finished()).append(" of ").append(s.planned()).append(" runs finished")
                .append(s.interrupted() ? " (interrupted)" : "").append(", ").append(s.variants().size())
                .append(s.variants().size() == 1 ? " variant, " : " variants, ").append(s.failures().size())
                .append(s.failures().size() == 1 ? " distinct failure" : " distinct failures")
                .append(".</p>\n<pre class=\"command\">").append(Html.esc(command)).append("</pre>\n")
                .append("<nav><a href=\"#summary\">summary</a> <a href=\"#throughput\">throughput</a> ")
                .append("<a href=\"#failures\">failures</a> ")
                .append("<a href=\"#timeline\">timeline</a> <a href=\"#runs\">runs</a> ")
                .append("<a href=\"#harness\">harness</a></nav></header>\n");
    }

    private static void summary(StringBuilder sb, Summary s) {
        sb.append("<section><h2 id=\"summary-title\">Variants</h2>\n<div class=\"scroll\"><table id=\"summary\">\n<thead><tr>")
                .append("<th>scenario / variant</th><th>expected</th><th class=\"num\">runs</th><th>outcomes</th>");
        sb.append("<th>expected-outcome rate [95% CI]</th><th>detected p50 / p90 / max</th>")
                .append("<th title=\"medians over the variant's CLEAN runs: direct-reclaim stalls (allocstall_normal),")
                .append(" pages stolen by direct reclaim / kswapd (pgsteal_direct / pgsteal_kswapd)\">clean-run pressure")
                .append(" (median)</th><th>failures</th>")
                .append("<th>result</th></tr></thead>\n<tbody>\n");
        for (Summary.VariantSummary v : s.variants()) {
            sb.append("<tr class=\"variant ").append(v.passed() ? "pass" : "fail").append("\" data-variant=\"")
                    .append(Html.esc(v.scenario() + "/" + v.variant())).append("\"><td><b>")
                    .append(Html.esc(v.scenario()))
                    .append("</b><br>").append(Html.esc(v.variant())).append("</td><td><span class=\"badge\" style=\"")
                    .append("background:").append(Html.colour(v.expected())).append("\">").append(v.expected())
                    .append("</span></td><td class=\"num\">").append(v.runs()).append("</td><td>")
                    .append(outcomeBar(v)).append("<div class=\"counts\">");
            for (Outcome o : Outcome.values()) {
                int c = v.outcomes().get(o);
                if (c > 0) {
                    sb.append("<span class=\"count\" data-outcome=\"").append(o)
                            .append("\"><span class=\"dot\" style=\"")
                            .append("background:").append(Html.colour(o)).append("\"></span>").append(c).append(' ')
                            .append(o).append("</span> ");
                }
            }
            sb.append("</div></td>");
            sb.append("<td class=\"rate\">").append(rateBar(v.expectedRate())).append(' ')
                    .append(SummaryTable.rate(v.expectedRate()))
                    .append(v.minRate() == null ? "" : " <small>(min " + SummaryTable.pct(v.minRate()) + ")</small>")
                    .append("</td><td class=\"nowrap\">").append(SummaryTable.detection(v.detection()))
                    .append("</td><td class=\"nowrap\">");
            Summary.Pressure p = v.cleanPressure();
            sb.append(p == null ? "-" : String.format(Locale.ROOT,
                    "%s stalls, %s / %s stolen<br><small>(%d clean runs)</small>",
                    TimelineSvg.human(p.allocstallMedian()), TimelineSvg.human(p.pgstealDirectMedian()),
                    TimelineSvg.human(p.pgstealKswapdMedian()), p.runs()));
            sb.append("</td><td>");
            for (Summary.FailureHit f : v.failures()) {
                int fi = failureIndex(s, f.title());
                sb.append("<a class=\"failure-ref\" href=\"#f-").append(fi).append("\" title=\"")
                        .append(Html.esc(f.title()))
                        .append("\">#").append(fi).append(' ').append(kind(s, f.title()))
                        .append("</a> <small>&times;").append(f.count()).append("</small><br>");
            }
            sb.append("</td><td class=\"result\">").append(v.passed() ? "ok" : "FAIL").append("</td></tr>\n");
        }
        sb.append("</tbody></table></div></section>\n");
    }

    /** "deadlock", "lockdep", "hung task": the kind of a failure, for the summary table's short references. */
    /** Work done per second by variant, a panel a scenario: where a stall and its fix are compared. */
    private static void throughput(StringBuilder sb, List<RunRecord> runs) {
        sb.append("<section id=\"throughput\"><h2>Throughput</h2>\n");
        Map<String, List<RunRecord>> byScenario = new LinkedHashMap<>();
        for (RunRecord r : runs) {
            byScenario.computeIfAbsent(r.scenario(), k -> new ArrayList<>()).add(r);
        }
        boolean any = false;
        for (Map.Entry<String, List<RunRecord>> e : byScenario.entrySet()) {
            if (ThroughputSvg.drawable(e.getValue())) {
                sb.append(ThroughputSvg.draw(e.getKey(), e.getValue())).append('\n');
                any = true;
            }
        }
        sb.append(any ? "<p class=\"note\">The workload's own work counter, per second, median of each variant's"
                + " runs (their number in brackets); a run that ended early without running clean counts as doing"
                + " nothing after it ended.</p>\n" : "<p class=\"none\">No per-second samples.</p>\n");
        sb.append("</section>\n");
    }

    private static String kind(Summary s, String title) {
        return s.failures().stream().filter(f -> f.title().equals(title)).findFirst()
                .map(f -> f.kind().name().toLowerCase(Locale.ROOT).replace('_', ' ')).orElse("failure");
    }

    private static int failureIndex(Summary s, String title) {
        for (int i = 0; i < s.failures().size(); i++) {
            if (s.failures().get(i).title().equals(title)) {
                return i + 1;
            }
        }
        return 0;
    }

    /** The variant's outcomes as one stacked bar. */
    private static String outcomeBar(Summary.VariantSummary v) {
        StringBuilder sb = new StringBuilder("<svg class=\"outcome-bar\" viewBox=\"0 0 120 14\" width=\"120\" height=\"14\">");
        double x = 0;
        for (Outcome o : Outcome.values()) {
            int c = v.outcomes().get(o);
            if (c == 0) {
                continue;
            }
            double w = 120.0 * c / v.runs();
            sb.append("<rect x=\"").append(Html.n(x)).append("\" y=\"0\" width=\"").append(Html.n(w))
                    .append("\" height=\"14\" fill=\"").append(Html.colour(o)).append("\"><title>").append(c)
                    .append(' ')
                    .append(o).append("</title></rect>");
            x += w;
        }
        return sb.append("</svg>").toString();
    }

    /** The rate as a dot on a 0-100 % line with its interval as a whisker. */
    private static String rateBar(Summary.Rate r) {
        return "<svg class=\"rate-bar\" viewBox=\"0 0 100 14\" width=\"100\" height=\"14\"><line x1=\"0\" x2=\"100\" y1=\"7\""
                + " y2=\"7\" class=\"axis\"/><line x1=\"" + Html.n(r.low() * 100) + "\" x2=\"" + Html.n(r.high() * 100)
                + "\" y1=\"7\" y2=\"7\" class=\"ci\"/><circle cx=\"" + Html.n(r.rate() * 100) + "\" cy=\"7\" r=\"4\"/></svg>";
    }

    private static void failures(StringBuilder sb, Summary s, Map<String, RunRecord> byKey) {
        sb.append("<section id=\"failures\"><h2>Distinct failures</h2>\n");
        if (s.failures().isEmpty()) {
            sb.append("<p class=\"none\">No run reported a deadlock, a hang, a stall, a lockdep warning or an error.</p>");
        }
        for (int i = 0; i < s.failures().size(); i++) {
            Summary.Failure f = s.failures().get(i);
            RunRecord ex = byKey.get(f.example());
            Outcome o = Summaries.outcome(f.kind());
            sb.append("<article class=\"failure\" id=\"f-").append(i + 1).append("\" data-title=\"")
                    .append(Html.esc(f.title())).append("\" data-kind=\"").append(f.kind()).append("\">\n<h3>")
                    .append("<span class=\"badge\" style=\"background:").append(Html.colour(o)).append("\">")
                    .append(f.kind()).append("</span> ").append(Html.esc(f.title()))
                    .append("</h3>\n<ul class=\"hits\">");
            for (Summary.Hit h : f.hits()) {
                sb.append("<li>").append(Html.esc(h.scenario() + "/" + h.variant())).append(' ')
                        .append("<span class=\"")
                        .append(h.expected() ? "expected" : h.unexpectedRuns() == 0 ? "alongside"
                                : "unexpected").append("\">").append(Html.esc(h.verdict())).append("</span>")
                        .append(": ").append(h.seeds().size()).append(h.seeds().size() == 1 ? " run" : " runs")
                        .append(", seeds ").append(Html.esc(SummaryTable.seeds(h.seeds()))).append("</li>");
            }
            sb.append("</ul>\n<p>First hit: <code>").append(Html.esc(f.example())).append("</code>; repeat it with ")
                    .append("<code class=\"repro\">").append(Html.esc(f.command())).append("</code></p>\n");
            if (ex != null) {
                switch (f.kind()) {
                    case DEADLOCK -> deadlock(sb, ex, i + 1);
                    case LOCKDEP -> lockdep(sb, ex, f.title(), i + 1);
                    default -> text(sb, ex);
                }
            }
            sb.append("</article>\n");
        }
        sb.append("</section>\n");
    }

    private static void deadlock(StringBuilder sb, RunRecord r, int index) {
        List<CycleSvg.Node> nodes = new ArrayList<>();
        List<String> edges = new ArrayList<>();
        for (CycleTask t : r.cycle()) {
            nodes.add(new CycleSvg.Node(t.task(), "in " + FailureTitle.guiltyFrame(t.stack())));
            edges.add(t.waitsOn());
        }
        sb.append("<figure>").append(CycleSvg.draw("f" + index, nodes, edges, "cycle", "task"))
                .append("<figcaption>Wait-for cycle: each arrow goes from a blocked task to the task that can end its")
                .append(" wait, labelled with what it sleeps on.</figcaption></figure>\n");
        sb.append("<table class=\"tasks\"><thead><tr><th>task</th><th>waits on</th><th>for</th><th>holds</th>")
                .append("<th>stack (innermost first)</th></tr></thead><tbody>\n");
        for (CycleTask t : r.cycle()) {
            sb.append("<tr><td><b>").append(Html.esc(t.task())).append("</b></td><td>").append(Html.esc(t.waitsOn()))
                    .append("</td><td>").append(Html.esc(t.waitsForTask())).append("</td><td>");
            if (t.holds().isEmpty()) {
                sb.append("<span class=\"none\">no locks</span>");
            } else {
                sb.append("<ol class=\"held\" start=\"0\">");
                for (String h : t.holds()) {
                    sb.append("<li>").append(Html.esc(h)).append("</li>");
                }
                sb.append("</ol>");
            }
            sb.append("</td><td>").append(stack(t.stack())).append("</td></tr>\n");
        }
        sb.append("</tbody></table>\n");
        text(sb, r);
    }

    private static void lockdep(StringBuilder sb, RunRecord r, String title, int index) {
        for (int k = 0; k < r.lockdep().size(); k++) {
            JsonNode l = r.lockdep().get(k);
            if (!FailureTitle.lockdep(l).equals(title)) {
                continue;
            }
            List<String[]> chain = new ArrayList<>();
            for (JsonNode e : l.path("chain")) {
                chain.add(new String[] {e.path("from").asString(""), e.path("to").asString(""),
                    e.path("recordedBy").asString("")});
            }
            List<CycleSvg.Node> nodes = new ArrayList<>();
            List<String> edges = new ArrayList<>();
            if ("recursive".equals(l.path("type").asString(""))) {
                nodes.add(new CycleSvg.Node(l.path("class").asString("?"), "taken again by " + l.path("task")
                        .asString("")));
                edges.add("recursive acquire");
            } else if (!chain.isEmpty()) {
                walk(chain, nodes, edges);
            }
            if (!nodes.isEmpty()) {
                sb.append("<figure>").append(CycleSvg.draw("f" + index + "-" + k, nodes, edges, "lock-graph", "lock"))
                        .append("<figcaption>Lock-order cycle lockdep predicted: an arrow A &rarr; B means B was taken")
                        .append(" while holding A, by the task named.</figcaption></figure>\n");
            }
            if (!chain.isEmpty()) {
                sb.append("<table class=\"chain\"><thead><tr><th>#</th><th>held</th><th>then took</th><th>recorded by</th>")
                        .append("<th>stack</th></tr></thead><tbody>");
                for (JsonNode e : l.path("chain")) {
                    List<String> trace = new ArrayList<>();
                    e.path("trace").forEach(x -> trace.add(x.asString()));
                    sb.append("<tr><td>").append(e.path("index").asInt()).append("</td><td>")
                            .append(Html.esc(e.path("from").asString(""))).append("</td><td>")
                            .append(Html.esc(e.path("to").asString(""))).append("</td><td>")
                            .append(Html.esc(e.path("recordedBy").asString(""))).append("</td><td>")
                            .append(stack(trace))
                            .append("</td></tr>");
                }
                sb.append("</tbody></table>\n");
            }
            if (k < r.lockdepTexts().size()) {
                sb.append("<details><summary>lockdep report</summary><pre class=\"kernel\">")
                        .append(Html.esc(r.lockdepTexts().get(k))).append("</pre></details>\n");
            }
            return;
        }
    }

    /** Orders lockdep's edges into the cycle they form, starting from the new edge's target. */
    private static void walk(List<String[]> chain, List<CycleSvg.Node> nodes, List<String> edges) {
        String start = chain.get(chain.size() - 1)[1];
        String at = start;
        for (int step = 0; step < chain.size(); step++) {
            String[] next = null;
            for (String[] e : chain) {
                if (e[0].equals(at)) {
                    next = e;
                    break;
                }
            }
            if (next == null) {
                nodes.clear();
                edges.clear();
                return;
            }
            nodes.add(new CycleSvg.Node(at, null));
            edges.add("then " + next[1] + " (" + next[2] + ")");
            at = next[1];
            if (at.equals(start)) {
                return;
            }
        }
    }

    private static void text(StringBuilder sb, RunRecord r) {
        String t = JunitXml.reportText(r).strip();
        sb.append("<details").append(r.cycle().isEmpty() ? " open" : "").append("><summary>kernel report (")
                .append(Html.esc(r.key())).append(")</summary><pre class=\"kernel\">").append(Html.esc(t))
                .append("</pre></details>\n");
    }

    private static String stack(List<String> frames) {
        if (frames.isEmpty()) {
            return "<span class=\"none\">no stack</span>";
        }
        StringBuilder sb = new StringBuilder("<details><summary>").append(Html.esc(FailureTitle.guiltyFrame(frames)))
                .append(" <small>(").append(frames.size()).append(" frames)</small></summary><pre>");
        for (String f : frames) {
            sb.append(Html.esc(f)).append('\n');
        }
        return sb.append("</pre></details>").toString();
    }

    private static void timelines(StringBuilder sb, Summary s, List<RunRecord> runs, Map<String, RunRecord> byKey,
                                  String chosen) {
        Map<String, RunRecord> shown = new LinkedHashMap<>();
        RunRecord first = chosen != null ? byKey.get(chosen) : null;
        if (first == null) {
            first = runs.stream().filter(r -> !r.asExpected()).findFirst().orElse(null);
        }
        if (first == null && !s.failures().isEmpty()) {
            first = byKey.get(s.failures().get(0).example());
        }
        if (first == null && !runs.isEmpty()) {
            first = runs.get(0);
        }
        if (first != null) {
            shown.put(first.key(), first);
        }
        for (Summary.Failure f : s.failures()) {
            RunRecord r = byKey.get(f.example());
            if (r != null) {
                shown.putIfAbsent(r.key(), r);
            }
        }
        Map<String, RunRecord> perVariant = new LinkedHashMap<>();
        for (RunRecord r : runs) {
            perVariant.putIfAbsent(r.scenario() + "/" + r.variant(), r);
        }
        perVariant.values().forEach(r -> shown.putIfAbsent(r.key(), r));
        sb.append("<section id=\"timeline\"><h2>Memory timeline</h2>\n");
        if (shown.isEmpty()) {
            sb.append("<p class=\"none\">No runs.</p></section>\n");
            return;
        }
        sb.append("<p>Per-second samples of one run: free memory, direct-reclaim stalls, pages reclaimed by direct")
                .append(" reclaim and kswapd, throttle sleeps, the workload's work. <label>Run: ")
                .append("<select id=\"timeline-run\">");
        int k = 0;
        for (RunRecord r : shown.values()) {
            if (k++ == MAX_TIMELINES) {
                break;
            }
            sb.append("<option value=\"").append(Html.esc(r.key())).append("\">").append(Html.esc(r.key())).append(" (")
                    .append(r.outcome()).append(r.asExpected() ? "" : ", unexpected").append(")</option>");
        }
        sb.append("</select></label></p>\n");
        k = 0;
        for (RunRecord r : shown.values()) {
            if (k++ == MAX_TIMELINES) {
                break;
            }
            sb.append("<div class=\"timeline-run\" data-run=\"").append(Html.esc(r.key())).append('"')
                    .append(k == 1 ? "" : " hidden").append("><p class=\"caption\"><b>").append(Html.esc(r.key()))
                    .append("</b>: ").append(r.outcome()).append(" (expected ").append(r.expected()).append(") in ")
                    .append(r.durationMs()).append(" ms, ").append(r.samples().size()).append(" samples, memory ")
                    .append(Html.esc(r.memory())).append(" &mdash; <code>").append(Html.esc(r.command()))
                    .append("</code></p>").append(TimelineSvg.draw(r)).append("</div>\n");
        }
        sb.append("</section>\n");
    }

    private static void runsTable(StringBuilder sb, List<RunRecord> runs) {
        sb.append("<section id=\"runs\"><h2>Runs</h2>\n<p><label><input type=\"checkbox\" id=\"only-unexpected\">")
                .append(" only runs without their expected outcome</label></p>\n<table class=\"runs\"><thead><tr>")
                .append("<th>run</th><th>outcome</th><th>expected</th><th class=\"num\">detected ms</th>")
                .append("<th class=\"num\">duration ms</th><th>failure</th><th>repro</th></tr></thead><tbody>\n");
        for (RunRecord r : runs) {
            List<FailureTitle.Title> t = FailureTitle.of(r);
            sb.append("<tr class=\"run").append(r.asExpected() ? "" : " unexpected").append("\" data-run=\"")
                    .append(Html.esc(r.key())).append("\"><td>").append(Html.esc(r.key()))
                    .append("</td><td><span class=\"badge\" style=\"background:").append(Html.colour(r.outcome()))
                    .append("\">").append(r.outcome()).append("</span></td><td>").append(r.expected())
                    .append(r.asExpected() ? "" : " <b class=\"unexpected\">&#10007;</b>")
                    .append("</td><td class=\"num\">")
                    .append(r.detectedAfterMs() == null ? "" : r.detectedAfterMs()).append("</td><td class=\"num\">")
                    .append(r.durationMs()).append("</td><td>").append(t.isEmpty() ? "" : Html.esc(t.get(0).title()))
                    .append("</td><td><code>").append(Html.esc(r.command())).append("</code></td></tr>\n");
        }
        sb.append("</tbody></table></section>\n");
    }

    private static void harness(StringBuilder sb, Summary s) {
        sb.append("<section id=\"harness\"><h2>Harness</h2>\n<table class=\"harness\"><thead><tr><th>shard</th>")
                .append("<th>jobs</th><th>mode</th><th>cores</th><th class=\"num\">runs</th><th class=\"num\">wall</th>")
                .append("<th class=\"num\">runs/min</th><th class=\"num\">CPU s/run</th><th class=\"num\">cores busy</th>")
                .append("<th class=\"num\">mean run s</th><th class=\"num\">harness thread CPU s</th><th>JVM</th>")
                .append("</tr></thead><tbody>\n");
        for (HarnessFigures h : s.harness()) {
            sb.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%d</td><td>%s</td><td>%d</td><td class=\"num\">%d"
                            + "</td><td class=\"num\">%s</td><td class=\"num\">%.1f</td><td class=\"num\">%.2f</td>"
                            + "<td class=\"num\">%.0f%%</td><td class=\"num\">%.1f</td><td class=\"num\">%.2f</td>"
                            + "<td>%s</td></tr>\n", Html.esc(h.shard()), h.jobs(), h.fork() ? "forked JVMs" : "one JVM",
                    h.cores(), h.runs(), Durations.text(h.wallMs() / 1000), h.runsPerMinute(), h.cpuSecondsPerRun(),
                    h.coreUtilisation() * 100, h.meanRunSeconds(), h.harnessThreadCpuMs() / 1000.0,
                            Html.esc(h.java())));
        }
        sb.append("</tbody></table></section>\n");
    }

    private static String resource(String name) {
        try (InputStream in = HtmlReport.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("report.html: resource " + name + " is missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
