package dev.reclaimlab.cli.report;

import dev.reclaimlab.cli.json.JsonCodec;
import dev.reclaimlab.cli.json.RunRecord;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/** Writes summary.json, junit.xml and report.html of a campaign's (or a merge's) runs into one directory. */
public final class Outputs {
    public static final String RUNS = "runs.jsonl";
    public static final String SUMMARY = "summary.json";
    public static final String JUNIT = "junit.xml";
    public static final String HTML = "report.html";

    private Outputs() {
    }

    /**
     * @param runs     in campaign order
     * @param timeline the key of the run whose samples the report draws first, or null to let it choose
     */
    public static void write(Path dir, Summary summary, List<RunRecord> runs, String command, Instant start,
                             String timeline) {
        JsonCodec.writeFile(dir.resolve(SUMMARY), JsonCodec.pretty(summary) + "\n");
        JsonCodec.writeFile(dir.resolve(JUNIT), JunitXml.write(summary, runs, JunitXml.properties(summary, command),
                start));
        JsonCodec.writeFile(dir.resolve(HTML), HtmlReport.write(summary, runs, command, timeline));
    }
}
