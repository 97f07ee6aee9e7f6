package dev.reclaimlab.cli.campaign;

import dev.reclaimlab.cli.Memory;
import dev.reclaimlab.scenario.Outcome;

/**
 * One run of a campaign: which scenario variant (and the outcome it must have), which seed, how long, how
 * much memory.
 */
public record RunSpec(String scenario, String variant, Outcome expected, long seed, long seconds,
                      long memoryBytes) {

    /** "scenario/variant/seed": the identity shards hash and merges join on. */
    public String key() {
        return scenario + "/" + variant + "/" + seed;
    }

    public String memory() {
        return Memory.format(memoryBytes);
    }

    /** The command that repeats this run (same workload choices; the interleaving is the machine's). */
    public String command() {
        return "reclaimlab run " + scenario + " --variant " + variant + " --seed " + seed + " --seconds " + seconds
                + " --memory " + memory();
    }
}
