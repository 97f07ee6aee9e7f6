package dev.reclaimlab.cli;

import dev.reclaimlab.scenario.FakeScenario;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Bad campaign input: one line naming the command and the reason, exit 2, and no run started. */
@Timeout(60)
class BadInputTest {
    private static void rejects(Runs cli, String reason, String... args) {
        assertThat(cli.main(args)).as(String.join(" ", args)).isEqualTo(2);
        assertThat(cli.err()).as(String.join(" ", args)).startsWith("reclaimlab stress: ").contains(reason)
                .endsWith("(see 'reclaimlab stress --help')" + System.lineSeparator());
        assertThat(cli.err().lines().count()).isEqualTo(1);
        assertThat(cli.out()).doesNotContain("runs, -j");
    }

    @Test
    void unknownScenarioOrVariant() {
        Runs cli = Runs.fake();
        rejects(cli, "no scenario 'nope'", "stress", "--scenario", "nope");
        rejects(cli, "no variant 'nope'", "stress", "--variant", "abba,nope");
    }

    @ParameterizedTest
    @ValueSource(strings = {"5..1", "x", "1..", "1,,2", "1..2000000", ""})
    void badSeedRanges(String seeds) {
        rejects(Runs.fake(), "seed", "stress", "--seeds", seeds);
    }

    @Test
    void unreadableMalformedOrWrongCampaignFiles(@TempDir Path dir) throws Exception {
        Runs cli = Runs.fake();
        rejects(cli, "cannot read campaign file", "stress", "--campaign", dir.resolve("missing.json").toString());
        Path f = dir.resolve("c.json");
        Files.writeString(f, "{\"runs\": [ {\"scenario\": \"fake\", ");
        rejects(cli, "is not a campaign at line 1", "stress", "--campaign", f.toString());
        Files.writeString(f, "{\"runs\": [{\"scenario\": \"fake\", \"seed\": \"1..3\"}]}");
        rejects(cli, "\"seed\"", "stress", "--campaign", f.toString());
        Files.writeString(f, "{\"runs\": [{\"scenario\": \"fake\", \"seeds\": \"1..3\", \"variants\": [\"nope\"]}]}");
        rejects(cli, "runs[0]: scenario fake has no variant 'nope'", "stress", "--campaign", f.toString());
        Files.writeString(f, "{\"runs\": []}");
        rejects(cli, "has no \"runs\"", "stress", "--campaign", f.toString());
        Files.writeString(f, "{\"runs\": [{\"scenario\": \"fake\", \"seeds\": \"3..1\"}]}");
        rejects(cli, "bad seed range", "stress", "--campaign", f.toString());
    }

    @Test
    void shardsOutOfRangeOrHalfGiven() {
        rejects(Runs.fake(), "out of range", "stress", "--shard", "5/4");
        rejects(Runs.fake(), "out of range", "stress", "--shard", "0/4");
        rejects(Runs.fake(), "write it as I/N", "stress", "--shard", "2");
        rejects(new Runs(FakeScenario.all(), Map.of("JOB_COMPLETION_INDEX", "4")), "out of range", "stress",
                "--shards", "4");
        rejects(new Runs(FakeScenario.all(), Map.of("JOB_COMPLETION_INDEX", "0")), "--shards N", "stress");
        rejects(new Runs(FakeScenario.all(), Map.of("SLURM_ARRAY_TASK_ID", "3", "SLURM_ARRAY_TASK_COUNT", "3")),
                "out of range", "stress");
    }

    @Test
    void theShippedExampleCampaignIsValidAndItsEightShardsCoverIt() {
        Runs cli = new Runs(dev.reclaimlab.scenario.Scenarios.all(), Map.of());
        assertThat(cli.main("stress", "--campaign", "examples/campaign.json", "--dry-run")).isZero();
        assertThat(cli.out()).endsWith("250 runs" + System.lineSeparator());
        long total = 0;
        for (int i = 0; i < 8; i++) {
            Runs shard = new Runs(dev.reclaimlab.scenario.Scenarios.all(), Map.of("JOB_COMPLETION_INDEX",
                    Integer.toString(i)));
            assertThat(shard.main("stress", "--campaign", "examples/campaign.json", "--shards", "8", "--dry-run"))
                    .isZero();
            total += shard.out().lines().filter(l -> l.startsWith("reclaimlab run ")).count();
        }
        assertThat(total).isEqualTo(250);
    }

    @Test
    void badOptionValues() {
        rejects(Runs.fake(), "--seconds must be positive", "stress", "--seconds", "0");
        rejects(Runs.fake(), "DEADLOCK=0.9", "stress", "--min-rate", "DEADLOCK");
        rejects(Runs.fake(), "no outcome 'HANG'", "stress", "--min-rate", "HANG=0.5");
        rejects(Runs.fake(), "between 0 and 1", "stress", "--min-rate", "CLEAN=2");
        rejects(Runs.fake(), "-j must be at least 1", "stress", "-j", "0");
        rejects(Runs.fake(), "Invalid value for option '--memory'", "stress", "--memory", "1m");
    }
}
