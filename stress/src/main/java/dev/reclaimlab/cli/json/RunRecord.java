package dev.reclaimlab.cli.json;

import dev.reclaimlab.scenario.Outcome;
import dev.reclaimlab.scenario.Sample;
import tools.jackson.databind.JsonNode;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One run as the command line writes it: {@code reclaimlab run --json}, a line of runs.jsonl, what a forked
 * run hands back to the harness and what {@code merge} reads. The first fields are those of the run's JSON
 * since the first command line (scenario ... progress); then what the harness adds: the run's length, its
 * set-up time and memory, the command that reproduces it, the kernel-format report texts, and the per-second samples.
 * {@code detectedAfterMs}, {@code formedToDetectedMs} and {@code watchdog} are absent when nothing was
 * detected; {@code setupMs} (boot to the workload's start; every time is from boot) when the run never got a
 * result or was written before the runner counted it.
 */
public record RunRecord(String scenario, String variant, long seed, Outcome expected, Outcome outcome,
                        boolean asExpected, long durationMs, Long detectedAfterMs, Long formedToDetectedMs,
                        String watchdog, List<CycleTask> cycle, String lockdepNote, List<JsonNode> lockdep,
                        List<String> errors, Map<String, Long> vmstat, String progress,
                        long seconds, Long setupMs, String memory, String command, String watchdogText,
                        List<String> lockdepTexts, List<Sample> samples) {

    public RunRecord {
        Objects.requireNonNull(scenario, "run: scenario");
        Objects.requireNonNull(variant, "run: variant");
        Objects.requireNonNull(expected, "run: expected");
        Objects.requireNonNull(outcome, "run: outcome");
        cycle = cycle == null ? List.of() : List.copyOf(cycle);
        lockdep = lockdep == null ? List.of() : List.copyOf(lockdep);
        errors = errors == null ? List.of() : List.copyOf(errors);
        vmstat = vmstat == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(vmstat));
        lockdepTexts = lockdepTexts == null ? List.of() : List.copyOf(lockdepTexts);
        samples = samples == null ? List.of() : List.copyOf(samples);
    }

    /** "scenario/variant/seed": a run's identity in a campaign. */
    public String key() {
        return scenario + "/" + variant + "/" + seed;
    }

    public long vmstat(String item) {
        Long v = vmstat.get(item);
        return v == null ? 0 : v;
    }
}
