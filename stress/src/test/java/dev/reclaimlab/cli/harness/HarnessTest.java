package dev.reclaimlab.cli.harness;

import dev.reclaimlab.cli.campaign.Campaign;
import dev.reclaimlab.cli.campaign.RunSpec;
import dev.reclaimlab.cli.json.JsonCodec;
import dev.reclaimlab.cli.json.RunRecord;
import dev.reclaimlab.cli.json.RunRecords;
import dev.reclaimlab.scenario.Outcome;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class HarnessTest {
    private static Campaign campaign(int n) {
        List<RunSpec> runs = new ArrayList<>();
        for (int s = 1; s <= n; s++) {
            runs.add(new RunSpec("fake", "v", Outcome.CLEAN, s, 1, 16L << 20));
        }
        return new Campaign(runs);
    }

    /** Seed 1 finishes at once; every other run blocks until the harness aborts it (Ctrl-C). */
    private static final class Blocking implements RunExecutor {
        final CountDownLatch aborted = new CountDownLatch(1);
        final CountDownLatch blocked = new CountDownLatch(1);

        @Override
        public RunRecord run(RunSpec spec) throws InterruptedException {
            if (spec.seed() != 1) {
                blocked.countDown();
                aborted.await();
            }
            RunRecord r = RunRecords.failed(spec, 1, "x", "");
            return new RunRecord(r.scenario(), r.variant(), r.seed(), r.expected(), Outcome.CLEAN, true, 1, null, null,
                    null, null, "", null, null, null, "done", 1, null, "16m", spec.command(), null, null, null);
        }

        @Override
        public void abort() {
            aborted.countDown();
        }
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void stopKeepsWhatFinishedAndAbandonsRunsInFlight(@TempDir Path dir) throws Exception {
        Blocking ex = new Blocking();
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        Harness h = new Harness(ex, 2, false, "1/1", new PrintStream(progress, true, StandardCharsets.UTF_8),
                dir.resolve("runs.jsonl"));
        Thread stopper = new Thread(() -> {
            try {
                ex.blocked.await();
                // Wait for seed 1's record before pressing Ctrl-C, so exactly one run finished.
                while (!progress.toString(StandardCharsets.UTF_8).contains("seed 1: CLEAN")) {
                    Thread.onSpinWait();
                }
                h.stop();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        stopper.start();
        Harness.Result r = h.run(campaign(4));
        stopper.join();
        assertThat(r.interrupted()).isTrue();
        assertThat(r.planned()).isEqualTo(4);
        assertThat(r.runs()).extracting(RunRecord::seed).containsExactly(1L);
        assertThat(JsonCodec.readRuns(dir.resolve("runs.jsonl"))).extracting(RunRecord::seed).containsExactly(1L);
        assertThat(ex.aborted.getCount()).as("runs in flight were aborted").isZero();
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void aRunThatThrowsIsThatRunsErrorNotTheCampaignsEnd() {
        RunExecutor ex = spec -> {
            throw new IllegalStateException("boom in seed " + spec.seed());
        };
        Harness.Result r = new Harness(ex, 1, false, "1/1", new PrintStream(new ByteArrayOutputStream(), true,
                StandardCharsets.UTF_8), null).run(campaign(2));
        assertThat(r.runs()).extracting(RunRecord::outcome).containsExactly(Outcome.ERROR, Outcome.ERROR);
        assertThat(r.runs().get(0).errors())
                .containsExactly("harness: java.lang.IllegalStateException: boom in seed 1");
        assertThat(r.runs().get(0).asExpected()).isFalse();
    }

    @Test
    void theProgressLineShowsDoneTotalOutcomesAndEta() {
        RunSpec spec = new RunSpec("fake", "v", Outcome.CLEAN, 3, 1, 16L << 20);
        RunRecord r = RunRecords.failed(spec, 5, "x", "");
        String line = Harness.line(r, 3, 12, new java.util.EnumMap<>(java.util.Map.of(Outcome.ERROR, 2,
                Outcome.CLEAN, 1)), 2, TimeUnit.SECONDS.toNanos(30));
        assertThat(line).isEqualTo("[ 3/12  25%] fake/v seed 3: ERROR UNEXPECTED (expected CLEAN) | 1 CLEAN,"
                + " 2 ERROR, 2 unexpected | ETA 1m30s");
    }
}
