package dev.reclaimlab.cli.json;

import dev.reclaimlab.cli.campaign.RunSpec;
import dev.reclaimlab.locking.LockdepReport;
import dev.reclaimlab.scenario.Outcome;
import dev.reclaimlab.scenario.RunResult;
import dev.reclaimlab.watchdog.BlockedTask;
import dev.reclaimlab.watchdog.WatchdogReport;
import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns the runner's {@link RunResult} into a {@link RunRecord}: the watchdog's proven cycle is copied from
 * its records field by field; lockdep's reports are written by {@link RunResult#lockdepJson} from their
 * records (one writer for both JSON forms until RunResult's goes) and parsed here.
 */
public final class RunRecords {
    private RunRecords() {
    }

    public static RunRecord of(RunResult r, RunSpec spec) {
        List<CycleTask> cycle = new ArrayList<>();
        WatchdogReport w = r.watchdog();
        if (w != null && w.type() == WatchdogReport.Type.DEADLOCK) {
            for (int i = 0; i < w.tasks().size(); i++) {
                BlockedTask t = w.tasks().get(i);
                cycle.add(new CycleTask(t.task(), t.heldLocks(), t.describe() + " -> " + w.edges().get(i).to(),
                        t.stack()));
            }
        }
        List<JsonNode> lockdep = new ArrayList<>();
        for (LockdepReport l : r.lockdep()) {
            lockdep.add(JsonCodec.tree(RunResult.lockdepJson(l)));
        }
        boolean detected = r.detectedAfterMs() >= 0;
        return new RunRecord(r.scenario(), r.variant(), r.seed(), r.expected(), r.outcome(), r.asExpected(),
                r.durationMs(), detected ? r.detectedAfterMs() : null, detected ? r.formedToDetectedMs() : null,
                w == null ? null : w.type().name(), cycle, r.lockdepNote(), lockdep, r.errors(),
                new LinkedHashMap<>(r.vmstat()), r.progress(), spec.seconds(), r.setupMs(), spec.memory(),
                spec.command(), r.watchdogText(), r.lockdepTexts(), r.samples());
    }

    /** A run that did not get as far as a result (the harness or a child JVM failed): an ERROR. */
    public static RunRecord failed(RunSpec spec, long durationMs, String error, String log) {
        return new RunRecord(spec.scenario(), spec.variant(), spec.seed(), spec.expected(), Outcome.ERROR,
                spec.expected() == Outcome.ERROR, durationMs, null, null, null, List.of(), "lockdep: no result",
                List.of(), List.of(error), Map.of(), log, spec.seconds(), null, spec.memory(), spec.command(), null,
                List.of(), List.of());
    }
}
