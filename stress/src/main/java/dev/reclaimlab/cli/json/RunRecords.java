package dev.reclaimlab.cli.json;

import dev.reclaimlab.cli.campaign.RunSpec;
import dev.reclaimlab.scenario.RunResult;
import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * Turns the runner's {@link RunResult} into a {@link RunRecord}. Today the watchdog's cycle and lockdep's
 * reports reach the command line as JSON strings built by core; they are parsed here, and only here, into
 * typed values. When they become records this is a field-by-field copy.
 */
public final class RunRecords {
    private RunRecords() {
    }

    public static RunRecord of(RunResult r, RunSpec spec) {
        List<CycleTask> cycle = new ArrayList<>();
        JsonNode c = JsonCodec.tree(r.cycleJson() == null ? "[]" : r.cycleJson());
        for (JsonNode t : c) {
            cycle.add(JsonCodec.convert(t, CycleTask.class));
        }
        List<JsonNode> lockdep = new ArrayList<>();
        for (String j : r.lockdepJsons()) {
            lockdep.add(JsonCodec.tree(j));
        }
        boolean detected = r.detectedAfterMs() >= 0;
        return new RunRecord(r.scenario(), r.variant(), r.seed(), r.expected(), r.outcome(), r.asExpected(),
                r.durationMs(), detected ? r.detectedAfterMs() : null, detected ? r.formedToDetectedMs() : null,
                r.watchdogType(), cycle, r.lockdepNote(), lockdep, r.errors(), new LinkedHashMap<>(r.vmstat()),
                r.progress(), spec.seconds(), spec.memory(), spec.command(), r.watchdogText(), r.lockdepTexts(),
                r.samples());
    }
}
