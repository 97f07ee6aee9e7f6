package dev.reclaimlab.cli;

import dev.reclaimlab.scenario.Scenario;
import dev.reclaimlab.scenario.Variant;

import java.io.PrintStream;
import java.util.List;

/** What every command shares: the scenarios this build offers and where output goes. */
public record Cli(List<Scenario> scenarios, PrintStream out, PrintStream err) {

    public Cli {
        scenarios = List.copyOf(scenarios);
    }

    public Scenario scenario(String name) {
        for (Scenario s : scenarios) {
            if (s.name().equals(name)) {
                return s;
            }
        }
        throw new UsageException("no scenario '" + name + "'; there are " + scenarios.stream().map(Scenario::name)
                .toList());
    }

    public Variant variant(Scenario s, String name) {
        try {
            return name == null ? s.variants().get(0) : s.variant(name);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }
}
