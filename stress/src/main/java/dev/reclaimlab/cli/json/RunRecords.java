package dev.reclaimlab.cli.json;

import dev.reclaimlab.cli.campaign.RunSpec;
import dev.reclaimlab.scenario.Outcome;
import dev.reclaimlab.scenario.RunResult;
import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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

    /** A run that did not get as far as a result (the harness or a child JVM failed): an ERROR. */
    public static RunRecord failed(RunSpec spec, long durationMs, String error, String log) {
        return new RunRecord(spec.scenario(), spec.variant(), spec.seed(), spec.expected(), Outcome.ERROR,
                spec.expected() == Outcome.ERROR, durationMs, null, null, null, List.of(), "lockdep: no result",
                List.of(), List.of(error), Map.of(), log, spec.seconds(), spec.memory(), spec.command(), null,
                List.of(), List.of());
    }
}
