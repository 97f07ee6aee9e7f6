package dev.reclaimlab.cli;

import dev.reclaimlab.kernel.KernelConfig;
import dev.reclaimlab.scenario.RunOptions;
import dev.reclaimlab.scenario.RunResult;
import dev.reclaimlab.scenario.Scenario;
import dev.reclaimlab.scenario.ScenarioRunner;
import dev.reclaimlab.scenario.Scenarios;
import dev.reclaimlab.scenario.Variant;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The {@code reclaimlab} command line: {@code list} the scenarios, {@code run} one variant with a progress
 * line, the kernel-format reports, a summary and a JSON file. Exit status 0 when the run had its variant's
 * expected outcome, 1 when not, 2 for bad arguments.
 */
public final class Main {
    static final String USAGE = String.join("\n",
            "usage: reclaimlab list",
            "       reclaimlab run SCENARIO [--variant V] [--seconds N] [--seed S] [--memory 64m] [--json FILE]",
            "       reclaimlab help");

    /**
     * hung_task_timeout for scenario runs: a proven cycle is reported within two scans whatever this is;
     * it only bounds how long a task may wait without one before the run counts as a stall.
     */
    static final long HUNG_TASK_TIMEOUT_MS = 10_000;

    private final List<Scenario> scenarios;
    private final PrintStream out;
    private final PrintStream err;

    Main(List<Scenario> scenarios, PrintStream out, PrintStream err) {
        this.scenarios = scenarios;
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        System.exit(new Main(Scenarios.all(), System.out, System.err).execute(args));
    }

    int execute(String[] args) {
        try {
            if (args.length == 0) {
                throw new UsageException("no command");
            }
            switch (args[0]) {
                case "list":
                    if (args.length > 1) {
                        throw new UsageException("list takes no arguments");
                    }
                    list();
                    return 0;
                case "run":
                    return run(RunArgs.parse(args));
                case "help":
                case "--help":
                case "-h":
                    out.println(USAGE);
                    return 0;
                default:
                    throw new UsageException("unknown command '" + args[0] + "'");
            }
        } catch (UsageException e) {
            err.println("reclaimlab: " + e.getMessage());
            err.println(USAGE);
            return 2;
        }
    }

    private void list() {
        out.printf("%-26s %-28s %-9s %s%n", "SCENARIO", "VARIANT", "EXPECTED", "SWITCHES / SEED");
        for (Scenario s : scenarios) {
            out.printf("%-26s %s (seeds: %s)%n", s.name(), s.description(), String.join(", ", s.seeds()));
            for (Variant v : s.variants()) {
                out.printf("%-26s %-28s %-9s %s%n", "", v.name(), v.expected(), switches(s, v));
            }
        }
        if (scenarios.isEmpty()) {
            out.println("(no scenarios are built into this version)");
        }
    }

    /** "obey_mapping_gfp", "(linux-4.3 as released)" or "loop_memalloc_noio without obey_mapping_gfp". */
    private static String switches(Scenario s, Variant v) {
        String with = v.fixes().isEmpty() && v.without().isEmpty() ? "(linux-" + s.version() + " as released)"
                : String.join(" ", v.fixNames());
        return v.without().isEmpty() ? with
                : (with.isEmpty() ? "" : with + " ") + "without " + String.join(" ", v.withoutNames());
    }

    private Scenario scenario(String name) {
        for (Scenario s : scenarios) {
            if (s.name().equals(name)) {
                return s;
            }
        }
        throw new UsageException("no scenario '" + name + "' (see 'reclaimlab list')");
    }

    private int run(RunArgs a) {
        Scenario s = scenario(a.scenario);
        Variant v;
        try {
            v = a.variant == null ? s.variants().get(0) : s.variant(a.variant);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        out.printf("reclaimlab: running %s, variant %s (expected %s), %d s, seed %d, memory %dM%n", s.name(), v.name(),
                v.expected(), a.seconds, a.seed, a.memory >> 20);
        RunResult r = ScenarioRunner.run(s, v, new RunOptions(a.seconds, a.seed, a.memory, HUNG_TASK_TIMEOUT_MS,
                out::println));
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
        if (a.json != null) {
            try {
                Files.writeString(a.json, r.toJson() + "\n", StandardCharsets.UTF_8);
                out.println("json: " + a.json);
            } catch (IOException e) {
                err.println("reclaimlab: cannot write " + a.json + ": " + e.getMessage());
                return 1;
            }
        }
        return r.asExpected() ? 0 : 1;
    }

    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    /** The run command's arguments, checked. */
    static final class RunArgs {
        String scenario;
        String variant;
        long seconds = 10;
        long seed = 1;
        long memory = 64L << 20;
        Path json;

        static RunArgs parse(String[] args) {
            RunArgs a = new RunArgs();
            for (int i = 1; i < args.length; i++) {
                String arg = args[i];
                if (!arg.startsWith("--")) {
                    if (a.scenario != null) {
                        throw new UsageException("unexpected argument '" + arg + "'");
                    }
                    a.scenario = arg;
                    continue;
                }
                if (i + 1 >= args.length) {
                    throw new UsageException(arg + " needs a value");
                }
                String val = args[++i];
                switch (arg) {
                    case "--variant":
                        a.variant = val;
                        break;
                    case "--seconds":
                        a.seconds = positive(arg, val);
                        break;
                    case "--seed":
                        a.seed = number(arg, val);
                        break;
                    case "--memory":
                        try {
                            a.memory = KernelConfig.memparse(val);
                            KernelConfig.builder().memory(a.memory).build();
                        } catch (IllegalArgumentException e) {
                            throw new UsageException("--memory " + val + ": " + e.getMessage());
                        }
                        break;
                    case "--json":
                        a.json = Path.of(val);
                        break;
                    default:
                        throw new UsageException("unknown option " + arg);
                }
            }
            if (a.scenario == null) {
                throw new UsageException("run needs a SCENARIO");
            }
            return a;
        }

        private static long number(String opt, String val) {
            try {
                return Long.parseLong(val);
            } catch (NumberFormatException e) {
                throw new UsageException(opt + " '" + val + "' is not a number");
            }
        }

        private static long positive(String opt, String val) {
            long n = number(opt, val);
            if (n <= 0) {
                throw new UsageException(opt + " must be positive, not " + n);
            }
            return n;
        }
    }
}
