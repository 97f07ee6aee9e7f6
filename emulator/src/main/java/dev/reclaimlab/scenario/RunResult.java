package dev.reclaimlab.scenario;

import dev.reclaimlab.locking.Json;

import java.util.List;
import java.util.Map;

/**
 * What one run showed: the outcome against the variant's expected one, when and what the watchdog found,
 * lockdep's reports, the counters that prove memory pressure was there and their per-second samples.
 * {@link #toJson()} is the machine-readable form CI and scripts check.
 */
public record RunResult(String scenario, String variant, long seed, Outcome expected, Outcome outcome,
                        long durationMs, long detectedAfterMs, long formedToDetectedMs, String watchdogType,
                        String watchdogText, String cycleJson, List<String> lockdepTexts,
                        List<String> lockdepJsons, List<String> errors, Map<String, Long> vmstat,
                        String lockdepStats, String progress, List<Sample> samples) {

    public RunResult {
        samples = List.copyOf(samples);
    }

    public boolean asExpected() {
        return outcome == expected;
    }

    public String toJson() {
        Json j = new Json().beginObject()
                .field("scenario", scenario).field("variant", variant).field("seed", seed)
                .field("expected", expected.name()).field("outcome", outcome.name())
                .field("asExpected", asExpected()).field("durationMs", durationMs);
        if (detectedAfterMs >= 0) {
            j.field("detectedAfterMs", detectedAfterMs).field("formedToDetectedMs", formedToDetectedMs);
        }
        if (watchdogType != null) {
            j.field("watchdog", watchdogType);
        }
        j.raw("cycle", cycleJson == null ? "[]" : cycleJson);
        j.field("lockdepNote", lockdepNote());
        j.beginArray("lockdep");
        for (String r : lockdepJsons) {
            j.rawValue(r);
        }
        j.endArray();
        j.strings("errors", errors);
        j.beginObject("vmstat");
        for (Map.Entry<String, Long> e : vmstat.entrySet()) {
            j.field(e.getKey(), e.getValue());
        }
        j.endObject();
        j.field("progress", progress);
        return j.endObject().toString();
    }

    /**
     * Lockdep's view of the run, in a sentence: a deadlock lockdep did not predict went through a wait it
     * cannot see (a completion, IO, a page lock), which is worth saying rather than hiding.
     */
    public String lockdepNote() {
        if (!lockdepTexts.isEmpty()) {
            return "lockdep reported " + lockdepTexts.size() + " possible deadlock"
                    + (lockdepTexts.size() == 1 ? "" : "s");
        }
        if (outcome == Outcome.DEADLOCK) {
            return "lockdep reported nothing: the cycle runs through waits it does not track (log IO completion,"
                    + " a bio owed by another task), only the watchdog can prove it";
        }
        return "lockdep reported nothing";
    }

    /** The closing summary line. */
    public String summary() {
        String detected = detectedAfterMs >= 0 ? " after " + detectedAfterMs + " ms" : "";
        return String.format("%s/%s: %s%s (expected %s) in %d ms: %s", scenario, variant, outcome, detected, expected,
                durationMs, asExpected() ? "OK" : "UNEXPECTED");
    }
}
