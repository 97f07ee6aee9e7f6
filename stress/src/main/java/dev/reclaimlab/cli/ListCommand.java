package dev.reclaimlab.cli;

import dev.reclaimlab.scenario.Scenario;
import dev.reclaimlab.scenario.Variant;
import picocli.CommandLine.Command;

import java.io.PrintStream;
import java.util.concurrent.Callable;

/** {@code reclaimlab list}: each scenario, its seed threads, its variants, their switches and outcomes. */
@Command(name = "list", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Show each scenario, its seed threads, its variants (the fixes each applies) and the outcome"
                + " each must have.")
final class ListCommand implements Callable<Integer> {
    private final Cli cli;

    ListCommand(Cli cli) {
        this.cli = cli;
    }

    @Override
    public Integer call() {
        PrintStream out = cli.out();
        out.printf("%-26s %-28s %-9s %s%n", "SCENARIO", "VARIANT", "EXPECTED", "SWITCHES / SEED");
        for (Scenario s : cli.scenarios()) {
            out.printf("%-26s %s (seeds: %s)%n", s.name(), s.description(), String.join(", ", s.seeds()));
            for (Variant v : s.variants()) {
                out.printf("%-26s %-28s %-9s %s%s%n", "", v.name(), v.expected(), switches(s, v), leaves(v));
            }
        }
        if (cli.scenarios().isEmpty()) {
            out.println("(no scenarios are built into this version)");
        }
        return 0;
    }

    /** "obey_mapping_gfp", "(linux-4.3 as released)" or "loop_memalloc_noio without obey_mapping_gfp". */
    static String switches(Scenario s, Variant v) {
        String with = v.fixes().isEmpty() && v.without().isEmpty() ? "(linux-" + s.version() + " as released)"
                : String.join(" ", v.fixNames());
        return v.without().isEmpty() ? with
                : (with.isEmpty() ? "" : with + " ") + "without " + String.join(" ", v.withoutNames());
    }

    /** "; leaves lockdep's recursive report" for a variant whose fix leaves reports by design, else "". */
    static String leaves(Variant v) {
        if (v.leaves().isEmpty()) {
            return "";
        }
        return "; leaves lockdep's " + String.join(", ", v.leaves().keySet().stream()
                .map(t -> t.name().toLowerCase(java.util.Locale.ROOT)).toList()) + " report";
    }
}
