package dev.reclaimlab.cli;

import dev.reclaimlab.cli.json.JsonCodec;
import dev.reclaimlab.cli.json.RunRecord;
import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.scenario.Outcome;
import dev.reclaimlab.scenario.Scenario;
import dev.reclaimlab.scenario.Scenarios;
import dev.reclaimlab.scenario.Variant;
import dev.reclaimlab.scenario.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class MainTest {
    private static final Fix NO_SUCH_FIX = Fix.declare("no_such_fix", "a fix of the test scenario only",
            "none: a test declaration", null);
    /** A scenario whose workload idles: every variant runs clean; "deadlocks" expects otherwise. */
    private static final Scenario IDLE = new Scenario() {
        @Override
        public String name() {
            return "idle";
        }

        @Override
        public String description() {
            return "nothing happens";
        }

        @Override
        public KernelVersion version() {
            return KernelVersion.V4_3;
        }

        @Override
        public List<String> seeds() {
            return List.of("none.txt");
        }

        @Override
        public List<Variant> variants() {
            return List.of(Variant.release("quiet", "clean", Outcome.CLEAN),
                    new Variant("deadlocks", "claims a deadlock", Outcome.DEADLOCK, List.of(NO_SUCH_FIX)));
        }

        @Override
        public Workload start(Kernel kernel, Variant variant, long seed) {
            return new Workload() {
                @Override
                public String progress() {
                    return "idle";
                }

                @Override
                public long workDone() {
                    return 0;
                }

                @Override
                public List<String> errors() {
                    return List.of();
                }

                @Override
                public void stop() {
                }
            };
        }
    };

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int main(String... args) {
        return new Main(List.of(IDLE), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).execute(args);
    }

    @Test
    void listShowsEveryScenarioVariantItsExpectedOutcomeAndSeeds() {
        assertThat(main("list")).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("idle", "seeds: none.txt", "quiet", "CLEAN",
                "deadlocks", "DEADLOCK", "no_such_fix");
    }

    @Test
    void listSaysWhichLockdepReportsAVariantLeaves() {
        ByteArrayOutputStream listed = new ByteArrayOutputStream();
        Main m = new Main(Scenarios.all(), new PrintStream(listed, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(m.execute(new String[] {"list"})).isZero();
        List<String> lines = listed.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).filteredOn(l -> l.contains(" gfp-nolockdep ")).singleElement().asString()
                .endsWith("xfs_buf_gfp_kernel xfs_buf_nolockdep; leaves lockdep's recursive report");
        assertThat(lines).filteredOn(l -> l.contains("leaves lockdep's")).hasSize(1);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void runWritesTheJsonAndExitsZeroOnlyForTheExpectedOutcome(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("run.json");
        assertThat(main("run", "idle", "--seconds", "1", "--seed", "7", "--memory", "16m", "--json", json.toString()))
                .isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("idle/quiet: CLEAN (expected CLEAN)");
        JsonNode j = JsonCodec.tree(Files.readString(json));
        assertThat(j.get("scenario").asString()).isEqualTo("idle");
        assertThat(j.get("variant").asString()).isEqualTo("quiet");
        assertThat(j.get("seed").asLong()).isEqualTo(7);
        assertThat(j.get("outcome").asString()).isEqualTo("CLEAN");
        assertThat(j.get("expected").asString()).isEqualTo("CLEAN");
        assertThat(j.get("asExpected").asBoolean()).isTrue();
        assertThat(j.get("cycle").isArray()).isTrue();
        assertThat(j.get("cycle")).isEmpty();
        assertThat(j.get("lockdep")).isEmpty();
        assertThat(j.has("detectedAfterMs")).as("nothing was detected").isFalse();
        assertThat(j.get("vmstat").get("nr_free_pages").asLong()).isPositive();
        assertThat(j.get("command").asString())
                .isEqualTo("reclaimlab run idle --variant quiet --seed 7 --seconds 1 --memory 16m");
        assertThat(j.get("samples")).isNotEmpty();
        RunRecord back = JsonCodec.readRun(Files.readString(json));
        assertThat(back.seed()).isEqualTo(7);
        assertThat(back.memory()).isEqualTo("16m");
        assertThat(back.samples().get(0).nrFreePages()).isPositive();
        assertThat(main("run", "idle", "--variant", "deadlocks", "--seconds", "1", "--memory", "16m")).isEqualTo(1);
    }

    @Test
    void runHelpShowsTheOptionsAndExitsZero() {
        assertThat(main("run", "--help")).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("Usage: reclaimlab run", "--variant", "--seconds",
                "--seed", "--memory", "--json", "SCENARIO");
    }

    @Test
    void everySubcommandsHelpRendersWithoutAPicocliFormatWarning() {
        PrintStream saved = System.err;
        ByteArrayOutputStream warnings = new ByteArrayOutputStream();
        System.setErr(new PrintStream(warnings, true, StandardCharsets.UTF_8));
        try {
            for (String cmd : new String[] {"list", "run", "stress", "merge"}) {
                out.reset();
                assertThat(main(cmd, "--help")).as(cmd).isZero();
                assertThat(out.toString(StandardCharsets.UTF_8)).as(cmd).contains("Usage: reclaimlab " + cmd);
                if (cmd.equals("stress")) {
                    assertThat(out.toString(StandardCharsets.UTF_8).replaceAll("\\s+", " "))
                            .contains("(95% Wilson interval)").doesNotContain("95%%");
                }
            }
        } finally {
            System.setErr(saved);
        }
        assertThat(warnings.toString(StandardCharsets.UTF_8)).doesNotContain("picocli WARN");
    }

    @Test
    void badArgumentsGetOneLineNamingTheCommandWithExitTwo() {
        String[][] bad = {{}, {"frobnicate"}, {"run"}, {"run", "nope"}, {"run", "idle", "--seconds", "0"},
            {"run", "idle", "--seconds"}, {"run", "idle", "--memory", "lots"}, {"run", "idle", "--memory", "1m"},
            {"run", "idle", "--variant", "nope"}, {"run", "idle", "--colour", "red"}, {"list", "x"}};
        for (String[] args : bad) {
            err.reset();
            assertThat(main(args)).as(String.join(" ", args)).isEqualTo(2);
            String e = err.toString(StandardCharsets.UTF_8);
            assertThat(e).as(String.join(" ", args)).startsWith("reclaimlab").contains(": ").contains("--help')");
            assertThat(e.lines().count()).as(e).isEqualTo(1);
        }
    }
}
