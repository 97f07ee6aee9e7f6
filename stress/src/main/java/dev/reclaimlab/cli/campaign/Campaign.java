package dev.reclaimlab.cli.campaign;

import dev.reclaimlab.cli.Memory;
import dev.reclaimlab.cli.UsageException;
import dev.reclaimlab.scenario.Outcome;
import dev.reclaimlab.scenario.Scenario;
import dev.reclaimlab.scenario.Variant;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The runs of a campaign, in a stable order (scenario, variant, seed as listed), every name checked against
 * the scenarios this build has.
 */
public record Campaign(List<RunSpec> runs) {

    public Campaign {
        runs = List.copyOf(runs);
        Map<String, RunSpec> seen = new LinkedHashMap<>();
        for (RunSpec r : runs) {
            if (seen.putIfAbsent(r.key(), r) != null) {
                throw new UsageException("the campaign lists run " + r.key() + " twice");
            }
        }
    }

    /**
     * From options: every scenario named (all when none), every variant named that it has (all when none;
     * a variant no chosen scenario has is an error), every seed.
     */
    public static Campaign of(List<Scenario> all, List<String> scenarioNames, List<String> variantNames,
                              String seeds, long seconds, long memoryBytes) {
        checkSeconds(seconds, "--seconds");
        List<Scenario> chosen = scenarioNames.isEmpty() ? all : scenarioNames.stream().map(n -> find(all, n)).toList();
        if (chosen.isEmpty()) {
            throw new UsageException("no scenarios are built into this version");
        }
        for (String v : variantNames) {
            if (chosen.stream().noneMatch(s -> has(s, v))) {
                throw new UsageException("no variant '" + v + "' in " + chosen.stream().map(Scenario::name).toList()
                        + "; they have " + chosen.stream().flatMap(s -> s.variants().stream()).map(Variant::name)
                        .distinct().toList());
            }
        }
        List<Long> seedList = Seeds.parse(seeds);
        List<RunSpec> runs = new ArrayList<>();
        for (Scenario s : chosen) {
            for (Variant v : s.variants()) {
                if (!variantNames.isEmpty() && !variantNames.contains(v.name())) {
                    continue;
                }
                for (long seed : seedList) {
                    runs.add(new RunSpec(s.name(), v.name(), v.expected(), seed, seconds, memoryBytes));
                }
            }
        }
        return new Campaign(runs);
    }

    /** From a campaign file; the file's and each group's seconds and memory win over the command line's. */
    public static Campaign of(List<Scenario> all, Path file, long seconds, long memoryBytes) {
        CampaignFile f = CampaignFile.read(file);
        long defSeconds = f.seconds() != null ? f.seconds() : seconds;
        long defMemory = f.memory() != null ? Memory.parse(f.memory()) : memoryBytes;
        List<RunSpec> runs = new ArrayList<>();
        for (int i = 0; i < f.runs().size(); i++) {
            CampaignFile.Group g = f.runs().get(i);
            String where = file + ": runs[" + i + "]: ";
            Scenario s;
            List<Long> seeds;
            long mem;
            try {
                s = find(all, g.scenario());
                seeds = Seeds.parse(g.seeds());
                mem = g.memory() != null ? Memory.parse(g.memory()) : defMemory;
            } catch (UsageException e) {
                throw new UsageException(where + e.getMessage());
            }
            long secs = g.seconds() != null ? g.seconds() : defSeconds;
            checkSeconds(secs, where + "seconds");
            List<String> variants = g.variants() == null || g.variants().isEmpty()
                    ? s.variants().stream().map(Variant::name).toList() : g.variants();
            for (String v : variants) {
                if (!has(s, v)) {
                    throw new UsageException(where + "scenario " + s.name() + " has no variant '" + v + "'; it has "
                            + s.variants().stream().map(Variant::name).toList());
                }
                Outcome expected = s.variant(v).expected();
                for (long seed : seeds) {
                    runs.add(new RunSpec(s.name(), v, expected, seed, secs, mem));
                }
            }
        }
        return new Campaign(runs);
    }

    /** The runs shard {@code shard} takes, in campaign order. */
    public Campaign shard(Shard shard) {
        return new Campaign(runs.stream().filter(shard::contains).toList());
    }

    public int size() {
        return runs.size();
    }

    /**
     * Campaign order for runs found anywhere (merged shards): scenarios and variants in the order this build
     * lists them, unknown names after in name order, then seed.
     */
    public static Comparator<String[]> order(List<Scenario> all) {
        return Comparator.<String[]>comparingInt(k -> scenarioIndex(all, k[0]))
                .thenComparing(k -> k[0])
                .thenComparingInt(k -> variantIndex(all, k[0], k[1]))
                .thenComparing(k -> k[1]);
    }

    private static int scenarioIndex(List<Scenario> all, String name) {
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i).name().equals(name)) {
                return i;
            }
        }
        return Integer.MAX_VALUE;
    }

    private static int variantIndex(List<Scenario> all, String scenario, String variant) {
        for (Scenario s : all) {
            if (s.name().equals(scenario)) {
                for (int i = 0; i < s.variants().size(); i++) {
                    if (s.variants().get(i).name().equals(variant)) {
                        return i;
                    }
                }
            }
        }
        return Integer.MAX_VALUE;
    }

    private static void checkSeconds(long seconds, String what) {
        if (seconds <= 0) {
            throw new UsageException(what + " must be positive, not " + seconds);
        }
    }

    private static boolean has(Scenario s, String variant) {
        return s.variants().stream().anyMatch(v -> v.name().equals(variant));
    }

    private static Scenario find(List<Scenario> all, String name) {
        for (Scenario s : all) {
            if (s.name().equals(name)) {
                return s;
            }
        }
        throw new UsageException("no scenario '" + name + "'; there are " + all.stream().map(Scenario::name).toList());
    }
}
