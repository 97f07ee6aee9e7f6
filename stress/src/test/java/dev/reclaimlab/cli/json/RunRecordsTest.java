package dev.reclaimlab.cli.json;

import dev.reclaimlab.cli.campaign.RunSpec;
import dev.reclaimlab.cli.harness.InProcessExecutor;
import dev.reclaimlab.scenario.FakeScenario;
import dev.reclaimlab.scenario.Outcome;
import dev.reclaimlab.scenario.RunResult;
import dev.reclaimlab.scenario.Scenario;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class RunRecordsTest {
    /** The fields `reclaimlab run --json` has written since the first command line, in their order. */
    private static final List<String> RUN_JSON_FIELDS = List.of("scenario", "variant", "seed", "expected", "outcome",
            "asExpected", "durationMs", "detectedAfterMs", "formedToDetectedMs", "watchdog", "cycle", "lockdepNote",
            "lockdep", "errors", "vmstat", "progress");

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aDeadlockRunKeepsTheRunJsonFieldsTheirOrderAndValuesAndAddsTheHarnessFields() {
        Scenario s = FakeScenario.all().get(0);
        RunSpec spec = new RunSpec("fake", "abba", Outcome.DEADLOCK, 1, 5, 16L << 20);
        RunResult r = InProcessExecutor.runScenario(s, s.variant("abba"), spec, null);
        assertThat(r.outcome()).isEqualTo(Outcome.DEADLOCK);
        JsonNode now = JsonCodec.tree(JsonCodec.line(RunRecords.of(r, spec)));
        List<String> names = new ArrayList<>(now.propertyNames());
        assertThat(names.subList(0, RUN_JSON_FIELDS.size())).isEqualTo(RUN_JSON_FIELDS);
        assertThat(names.subList(RUN_JSON_FIELDS.size(), names.size())).containsExactly("seconds", "memory", "command",
                "watchdogText", "lockdepTexts", "samples");
        // Until the lead's records replace RunResult.toJson(), the two writers must agree field for field.
        JsonNode before = JsonCodec.tree(r.toJson());
        for (String f : RUN_JSON_FIELDS) {
            assertThat(now.get(f)).as(f).isEqualTo(before.get(f));
        }
        RunRecord back = JsonCodec.readRun(JsonCodec.line(RunRecords.of(r, spec)));
        assertThat(back.cycle()).hasSize(2);
        assertThat(back.cycle().get(0).waitsForTask()).isEqualTo(back.cycle().get(1).task());
        assertThat(back.lockdep()).hasSize(1);
        assertThat(back.lockdep().get(0).get("type").asString()).isEqualTo("circular");
        assertThat(back.watchdogText()).contains("INFO: proven deadlock");
    }
}
