package dev.reclaimlab.cli;

import dev.reclaimlab.cli.json.JsonCodec;
import dev.reclaimlab.cli.json.RunRecord;
import dev.reclaimlab.scenario.Outcome;
import dev.reclaimlab.scenario.Scenarios;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class ForkAndRealRunTest {
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void forkRunsEachRunInAChildJvmAndReadsItsJsonBack(@TempDir Path dir) throws Exception {
        Runs cli = Runs.fake();
        assertThat(cli.main("stress", "--fork", "--variant", "abba", "--seeds", "3,4", "--seconds", "2", "--memory",
                "16m", "-j", "2", "--out", dir.toString())).isEqualTo(1);
        List<RunRecord> runs = JsonCodec.readRuns(dir.resolve("runs.jsonl"));
        assertThat(runs).extracting(RunRecord::seed).containsExactlyInAnyOrder(3L, 4L);
        RunRecord three = runs.stream().filter(r -> r.seed() == 3).findFirst().orElseThrow();
        assertThat(three.outcome()).isEqualTo(Outcome.DEADLOCK);
        assertThat(three.cycle()).hasSize(2);
        assertThat(Files.readString(dir.resolve("logs").resolve("fake_abba_3.log"))).contains("INFO: proven deadlock");
        assertThat(JsonCodec.tree(Files.readString(dir.resolve("summary.json"))).get("harness").get(0).get("fork")
                .asBoolean()).isTrue();
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aShortRealXfsOnLoopRunIsCleanUnderPressureWithSamples(@TempDir Path dir) throws Exception {
        Runs cli = new Runs(Scenarios.all(), Map.of());
        assertThat(cli.main("stress", "--scenario", "xfs-on-loop", "--variant", "mapping-gfp", "--seeds", "1",
                "--seconds", "3", "--out", dir.toString())).as(cli.out()).isZero();
        RunRecord r = JsonCodec.readRuns(dir.resolve("runs.jsonl")).get(0);
        assertThat(r.outcome()).isEqualTo(Outcome.CLEAN);
        assertThat(r.samples()).isNotEmpty();
        assertThat(r.samples().get(r.samples().size() - 1).pgstealDirect() + r.samples().get(r.samples().size() - 1)
                .pgstealKswapd()).as("reclaim ran").isPositive();
        assertThat(JsonCodec.tree(Files.readString(dir.resolve("summary.json"))).get("variants").get(0)
                .get("cleanPressure").get("runs").asInt()).isEqualTo(1);
    }
}
