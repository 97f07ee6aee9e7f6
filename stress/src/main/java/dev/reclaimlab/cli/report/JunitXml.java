package dev.reclaimlab.cli.report;

import dev.reclaimlab.cli.json.RunRecord;

import javax.xml.stream.XMLOutputFactory;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * junit.xml as xfstests' {@code check -R xunit} writes it (common/report): one testsuite, its properties,
 * a testcase per run (classname "reclaimlab.SCENARIO", name "VARIANT/seed-S", time in seconds); a run
 * without its expected outcome has a {@code failure} element (type TestFail, the outcome and failure title
 * as message, the kernel-format report as text); {@code system-out} holds the command that reproduces it
 * and the workload's last progress line. Text is escaped rather than put in CDATA: the same XML to a parser,
 * and no "]]>" to split.
 */
public final class JunitXml {
    private static final DateTimeFormatter TS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ssXXX", Locale.ROOT);

    private JunitXml() {
    }

    public static String write(Summary summary, List<RunRecord> runs, Map<String, String> properties, Instant start) {
        StringWriter sw = new StringWriter();
        try {
            XMLStreamWriter x = XMLOutputFactory.newFactory().createXMLStreamWriter(sw);
            x.writeStartDocument("UTF-8", "1.0");
            x.writeCharacters("\n");
            int failures = (int) runs.stream().filter(r -> !r.asExpected()).count();
            double time = runs.stream().mapToLong(RunRecord::durationMs).sum() / 1000.0;
            x.writeStartElement("testsuite");
            x.writeAttribute("name", "reclaimlab");
            x.writeAttribute("failures", Integer.toString(failures));
            x.writeAttribute("skipped", Integer.toString(summary.planned() - summary.finished()));
            x.writeAttribute("tests", Integer.toString(runs.size()));
            x.writeAttribute("time", seconds(time));
            x.writeAttribute("hostname", hostname());
            String now = TS.format(Instant.now().truncatedTo(ChronoUnit.SECONDS).atOffset(ZoneOffset.UTC));
            x.writeAttribute("start_timestamp", TS.format(start.truncatedTo(ChronoUnit.SECONDS)
                    .atOffset(ZoneOffset.UTC)));
            x.writeAttribute("timestamp", now);
            x.writeAttribute("report_timestamp", now);
            x.writeCharacters("\n\t");
            x.writeStartElement("properties");
            for (Map.Entry<String, String> p : properties.entrySet()) {
                x.writeCharacters("\n\t\t");
                x.writeEmptyElement("property");
                x.writeAttribute("name", p.getKey());
                x.writeAttribute("value", p.getValue());
            }
            x.writeCharacters("\n\t");
            x.writeEndElement();
            for (RunRecord r : runs) {
                testcase(x, r);
            }
            x.writeCharacters("\n");
            x.writeEndElement();
            x.writeCharacters("\n");
            x.writeEndDocument();
            x.close();
        } catch (XMLStreamException e) {
            throw new IllegalStateException("junit.xml: " + e.getMessage(), e);
        }
        return sw.toString();
    }

    private static void testcase(XMLStreamWriter x, RunRecord r) throws XMLStreamException {
        x.writeCharacters("\n\t");
        x.writeStartElement("testcase");
        x.writeAttribute("classname", "reclaimlab." + r.scenario());
        x.writeAttribute("name", r.variant() + "/seed-" + r.seed());
        x.writeAttribute("time", seconds(r.durationMs() / 1000.0));
        if (!r.asExpected()) {
            List<FailureTitle.Title> titles = FailureTitle.of(r);
            String message = r.outcome() + " (expected " + r.expected() + ")"
                    + (titles.isEmpty() ? "" : ": " + titles.get(0).title());
            x.writeCharacters("\n\t\t");
            x.writeStartElement("failure");
            x.writeAttribute("message", message);
            x.writeAttribute("type", "TestFail");
            x.writeCharacters(reportText(r));
            x.writeEndElement();
        }
        x.writeCharacters("\n\t\t");
        x.writeStartElement("system-out");
        x.writeCharacters("repro: " + r.command() + "\n" + r.progress() + "\n");
        x.writeEndElement();
        x.writeCharacters("\n\t");
        x.writeEndElement();
    }

    /** The run's reports in kernel format, then its errors; a clean run that should have failed says so. */
    static String reportText(RunRecord r) {
        List<String> parts = new ArrayList<>();
        if (r.watchdogText() != null) {
            parts.add(r.watchdogText());
        }
        parts.addAll(r.lockdepTexts());
        for (String e : r.errors()) {
            parts.add("error: " + e + "\n");
        }
        if (parts.isEmpty()) {
            parts.add("no report: the run ended " + r.outcome() + " after " + r.durationMs() + " ms; "
                    + r.lockdepNote() + "\n");
        }
        return "\n" + String.join("\n", parts);
    }

    private static String seconds(double s) {
        return String.format(Locale.ROOT, "%.3f", s);
    }

    private static String hostname() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            return "localhost";
        }
    }

    /** The campaign's settings as properties, as xfstests lists FSTYP, MKFS_OPTIONS and friends. */
    public static Map<String, String> properties(Summary s, String command) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("COMMAND", command);
        p.put("PLANNED", Integer.toString(s.planned()));
        p.put("FINISHED", Integer.toString(s.finished()));
        p.put("INTERRUPTED", Boolean.toString(s.interrupted()));
        p.put("SHARDS", String.join(" ", s.harness().stream().map(h -> h.shard()).toList()));
        p.put("JAVA", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        return p;
    }
}
