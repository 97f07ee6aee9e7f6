package dev.reclaimlab.cli.harness;

import dev.reclaimlab.cli.campaign.RunSpec;
import dev.reclaimlab.cli.json.RunRecord;
import dev.reclaimlab.cli.json.RunRecords;
import dev.reclaimlab.scenario.RunOptions;
import dev.reclaimlab.scenario.RunResult;
import dev.reclaimlab.scenario.Scenario;
import dev.reclaimlab.scenario.ScenarioRunner;
import dev.reclaimlab.scenario.Variant;

import java.util.List;
import java.util.function.Consumer;

/** Runs each run in this JVM: every run boots its own {@code Kernel} instance and closes it. */
public final class InProcessExecutor implements RunExecutor {
    /**
     * hung_task_timeout for scenario runs: a proven cycle is reported within two scans whatever this is;
     * it only bounds how long a task may wait without one before the run counts as a stall.
     */
    public static final long HUNG_TASK_TIMEOUT_MS = 10_000;

    private final List<Scenario> scenarios;

    public InProcessExecutor(List<Scenario> scenarios) {
        this.scenarios = List.copyOf(scenarios);
    }

    @Override
    public RunRecord run(RunSpec spec) {
        Scenario s = scenarios.stream().filter(x -> x.name().equals(spec.scenario())).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no scenario '" + spec.scenario() + "'"));
        return RunRecords.of(runScenario(s, s.variant(spec.variant()), spec, null), spec);
    }

    /** The one place a command line run meets the runner. */
    public static RunResult runScenario(Scenario s, Variant v, RunSpec spec, Consumer<String> progress) {
        return ScenarioRunner.run(s, v, new RunOptions(spec.seconds(), spec.seed(), spec.memoryBytes(),
                HUNG_TASK_TIMEOUT_MS, progress));
    }
}
