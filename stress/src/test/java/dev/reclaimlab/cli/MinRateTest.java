package dev.reclaimlab.cli;

import dev.reclaimlab.cli.json.JsonCodec;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** 3 of 4 abba seeds deadlock: --min-rate DEADLOCK=0.7 passes the variant, 0.8 does not, none needs all 4. */
class MinRateTest {
    @ParameterizedTest
    @CsvSource({"DEADLOCK=0.7, 0", "DEADLOCK=0.8, 1", "CLEAN=0.1, 1"})
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aVariantPassesAtItsMinimumRate(String minRate, int exit, @TempDir Path dir) throws Exception {
        Runs cli = Runs.fake();
        assertThat(cli.main("stress", "--variant", "abba", "--seeds", "1..4", "--seconds", "3", "--memory", "16m",
                "--min-rate", minRate, "--out", dir.toString())).isEqualTo(exit);
        var v = JsonCodec.tree(Files.readString(dir.resolve("summary.json"))).get("variants").get(0);
        assertThat(v.get("expectedRate").get("rate").asDouble()).isEqualTo(0.75);
        assertThat(v.get("passed").asBoolean()).isEqualTo(exit == 0);
    }
}
