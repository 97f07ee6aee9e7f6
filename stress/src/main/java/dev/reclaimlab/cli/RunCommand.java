package dev.reclaimlab.cli;

import dev.reclaimlab.cli.campaign.RunSpec;
import dev.reclaimlab.cli.harness.InProcessExecutor;
import dev.reclaimlab.cli.json.JsonCodec;
import dev.reclaimlab.cli.json.RunRecords;
import dev.reclaimlab.scenario.RunResult;
import dev.reclaimlab.scenario.Scenario;
import dev.reclaimlab.scenario.Variant;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code reclaimlab run}: one variant with a progress line a second, the kernel-format reports, a summary
 * and, with --json, the run as JSON. Exit status 0 when the run had its variant's expected outcome, 1 when
 * not, 2 for bad arguments.
 */
@Command(name = "run", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Boot a kernel with a variant's fixes, run the scenario's workload until the watchdog proves"
                + " a deadlock or the time is up, and print the reports. Exit 0 when the outcome is the variant's"
                + " expected one, 1 when not, 2 for bad arguments.")
final class RunCommand implements Callable<Integer> {
    private final Cli cli;

    @Parameters(index = "0", paramLabel = "SCENARIO", description = "A scenario from 'reclaimlab list'.")
    String scenario;

    @Option(names = "--variant", paramLabel = "V", description = "The variant (default: the scenario's first).")
    String variant;

    @Option(names = "--seconds", paramLabel = "N", defaultValue = "10",
            description = "How long the workload runs (default: ${DEFAULT-VALUE}).")
    long seconds;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1",
            description = "The workload's random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--memory", paramLabel = "SIZE", defaultValue = "64m", converter = Memory.Converter.class,
            description = "The kernel's memory, as memparse() reads it (default: ${DEFAULT-VALUE}).")
    long memory;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the run as JSON to FILE.")
    Path json;

    RunCommand(Cli cli) {
        this.cli = cli;
    }

    @Override
    public Integer call() {
        if (seconds <= 0) {
            throw new UsageException("--seconds must be positive, not " + seconds);
        }
        Scenario s = cli.scenario(scenario);
        Variant v = cli.variant(s, variant);
        PrintStream out = cli.out();
        out.printf("reclaimlab: running %s, variant %s (expected %s), %d s, seed %d, memory %dM%n", s.name(), v.name(),
                v.expected(), seconds, seed, memory >> 20);
        RunSpec spec = new RunSpec(s.name(), v.name(), v.expected(), seed, seconds, memory);
        RunResult r = InProcessExecutor.runScenario(s, v, spec, out::println);
        if (r.watchdogText() != null) {
            out.println();
            out.print(r.watchdogText());
        }
        for (String l : r.lockdepTexts()) {
            out.println();
            out.print(l);
        }
        for (String e : r.errors()) {
            out.println("error: " + e);
        }
        out.println();
        out.println(r.lockdepNote());
        out.println(r.summary());
        if (json != null) {
            try {
                JsonCodec.writeFile(json, JsonCodec.line(RunRecords.of(r, spec)) + "\n");
                out.println("json: " + json);
            } catch (UncheckedIOException e) {
                cli.err().println("reclaimlab run: " + e.getMessage());
                return 1;
            }
        }
        return r.asExpected() ? 0 : 1;
    }
}
