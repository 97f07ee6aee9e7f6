package dev.reclaimlab.scenario;

import dev.reclaimlab.locking.LockdepReport;
import dev.reclaimlab.watchdog.BlockedTask;
import dev.reclaimlab.watchdog.WatchdogReport;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one run showed, as data (DESIGN.md rule 12): the outcome against the variant's expected one, the
 * watchdog's first report (null if none), lockdep's reports, what lockdep cannot see in this scenario, the
 * errors, the counters that prove memory pressure was there and their per-second samples.
 *
 * @param kernelVersion the release the run booted as; {@code fixes} the fixes applied on top
 * @param setupMs from boot to the workload's start (its set-up: filesystems made and mounted, files laid out);
 *     the run's seconds are the workload's, counted from there
 * @param detectedAfterMs from boot to the watchdog's report, or -1
 * @param lockdepAfterMs from boot to lockdep's first report, or -1
 * @param lockdepBlindSpot the scenario's sentence on what lockdep cannot see (see {@link Scenario#lockdepBlindSpot()})
 * @param leaves the lockdep reports the variant's fix leaves by design, with the reasons ({@link Variant#leaves()})
 */
public record RunResult(String scenario, String variant, String kernelVersion, List<String> fixes, long seed,
                        Outcome expected, Outcome outcome, long durationMs, long setupMs, long detectedAfterMs,
                        long lockdepAfterMs, WatchdogReport watchdog, List<LockdepReport> lockdep, String lockdepBlindSpot,
                        List<String> errors, Map<String, Long> vmstat, String lockdepStats, String progress,
                        List<Sample> samples, Map<LockdepReport.Type, String> leaves) {

    public RunResult {
        leaves = Map.copyOf(leaves);
        fixes = List.copyOf(fixes);
        lockdep = List.copyOf(lockdep);
        errors = List.copyOf(errors);
        vmstat = Collections.unmodifiableMap(new LinkedHashMap<>(vmstat));
        samples = List.copyOf(samples);
    }

    public boolean asExpected() {
        return outcome == expected || outcome == Outcome.LOCKDEP && expected == Outcome.CLEAN && onlyLeftReports();
    }

    /** Whether lockdep reported something and all of it is of the kinds the variant leaves. */
    private boolean onlyLeftReports() {
        return !lockdep.isEmpty() && lockdep.stream().allMatch(r -> leaves.containsKey(r.type()));
    }

    /** For a report: from the moment the cycle formed (its last task blocked) to the report; else -1. */
    public long formedToDetectedMs() {
        return watchdog == null || watchdog.type() != WatchdogReport.Type.DEADLOCK ? -1
                : watchdog.formedToDetectedNanos() / 1_000_000;
    }

    /** The watchdog report's kernel text, or null. */
    public String watchdogText() {
        return watchdog == null ? null : watchdog.text();
    }

    /** Lockdep's reports as kernel text. */
    public List<String> lockdepTexts() {
        List<String> l = new ArrayList<>();
        for (LockdepReport r : lockdep) {
            l.add(r.text());
        }
        return l;
    }

    /** The machine-readable form CI and scripts check. */
    public String toJson() {
        Json j = new Json().beginObject()
                .field("scenario", scenario).field("variant", variant).field("kernelVersion", kernelVersion)
                .strings("fixes", fixes).field("seed", seed)
                .field("expected", expected.name()).field("outcome", outcome.name())
                .field("asExpected", asExpected()).field("durationMs", durationMs);
        if (detectedAfterMs >= 0) {
            j.field("detectedAfterMs", detectedAfterMs).field("formedToDetectedMs", formedToDetectedMs());
        }
        if (watchdog != null) {
            j.field("watchdog", watchdog.type().name());
        }
        j.beginArray("cycle");
        if (watchdog != null && watchdog.type() == WatchdogReport.Type.DEADLOCK) {
            for (int i = 0; i < watchdog.tasks().size(); i++) {
                BlockedTask t = watchdog.tasks().get(i);
                j.beginObject().field("task", t.task()).strings("holds", t.heldLocks())
                        .field("waitsFor", t.describe() + " -> " + watchdog.edges().get(i).to())
                        .strings("stack", t.stack()).endObject();
            }
        }
        j.endArray();
        j.field("lockdepNote", lockdepNote());
        if (lockdepAfterMs >= 0) {
            j.field("lockdepAfterMs", lockdepAfterMs);
        }
        j.beginArray("lockdep");
        for (LockdepReport r : lockdep) {
            lockdepJson(j, r);
        }
        j.endArray();
        j.strings("errors", errors);
        j.beginObject("vmstat");
        for (Map.Entry<String, Long> e : vmstat.entrySet()) {
            j.field(e.getKey(), e.getValue());
        }
        j.endObject();
        j.field("progress", progress).field("setupMs", setupMs);
        return j.endObject().toString();
    }

    /** One lockdep report as the run's JSON has it (the harness parses the same text). */
    public static String lockdepJson(LockdepReport r) {
        Json j = new Json();
        lockdepJson(j, r);
        return j.toString();
    }

    /** One lockdep report from its fields: the kernel's facts, then reclaimlab's verdict. */
    private static void lockdepJson(Json j, LockdepReport r) {
        j.beginObject().field("type", r.type().name().toLowerCase(java.util.Locale.ROOT)).field("title", r.title())
                .field("kernelVersion", r.style().kernelVersion()).field("task", r.task())
                .field("class", r.acquiring().className()).strings("classes", r.classes());
        heldLockJson(j, "acquiring", r.acquiring());
        if (r.acquiredAt() != null) {
            j.field("acquiredAt", r.acquiredAt());
        }
        if (r.holding() != null) {
            heldLockJson(j, "holding", r.holding());
        }
        if (r.chain() != null) {
            j.beginArray("chain");
            for (LockdepReport.ChainEntry e : r.chain()) {
                j.beginObject().field("index", e.index()).field("from", e.from()).field("to", e.className())
                        .field("usage", e.usage()).field("recordedBy", e.recordedBy()).strings("trace", e.trace())
                        .endObject();
            }
            j.endArray();
        }
        if (r.usageConflict() != null) {
            j.beginObject("usageConflict").field("previous", r.usageConflict().previous())
                    .field("next", r.usageConflict().next()).strings("registeredAt", r.usageConflict().registeredAt())
                    .endObject();
        }
        if (r.inversion() != null) {
            j.field("state", r.inversion().state()).field("forwards", r.inversion().forwards());
        }
        j.beginArray("heldLocks");
        for (LockdepReport.HeldLock h : r.heldLocks()) {
            heldLockJson(j, null, h);
        }
        j.endArray().strings("stack", r.stack());
        LockdepReport.Verdict v = r.verdict();
        if (v != null) {
            j.beginObject("verdict").field("status", v.status().name()).field("byWatchdog", v.byWatchdog())
                    .beginArray("classes");
            for (LockdepReport.ClassVerdict c : v.classes()) {
                j.beginObject().field("class", c.className()).field("heldSide", c.heldSide())
                        .field("takenSide", c.takenSide()).field("held", c.held()).field("taken", c.taken())
                        .field("both", c.both()).field("incomplete", c.incomplete()).endObject();
            }
            j.endArray().endObject();
        }
        j.endObject();
    }

    private static void heldLockJson(Json j, String name, LockdepReport.HeldLock h) {
        if (name == null) {
            j.beginObject();
        } else {
            j.beginObject(name);
        }
        j.field("class", h.className()).field("usage", h.usage()).field("instance", h.instanceName())
                .field("read", h.read()).field("trylock", h.trylock()).endObject();
    }

    /**
     * Lockdep's view of the run, in a sentence: a deadlock lockdep did not predict went through a wait it
     * cannot see, which the scenario names rather than hides.
     */
    public String lockdepNote() {
        if (!lockdep.isEmpty()) {
            String n = "lockdep reported " + lockdep.size() + " possible deadlock" + (lockdep.size() == 1 ? "" : "s");
            if (!onlyLeftReports()) {
                return n;
            }
            List<String> why = new ArrayList<>();
            new TreeMap<>(leaves).forEach((type, reason) -> {
                if (lockdep.stream().anyMatch(r -> r.type() == type)) {
                    why.add(type.name().toLowerCase(Locale.ROOT) + ": " + reason);
                }
            });
            return n + ", each of a kind the variant leaves (" + String.join("; ", why) + ")";
        }
        if (outcome == Outcome.DEADLOCK) {
            return "lockdep reported nothing: " + lockdepBlindSpot;
        }
        return "lockdep reported nothing";
    }

    /** The closing summary line. */
    public String summary() {
        String detected = detectedAfterMs >= 0 ? " after " + detectedAfterMs + " ms"
                : lockdepAfterMs >= 0 ? " (first lockdep report after " + lockdepAfterMs + " ms)" : "";
        return String.format("%s/%s: %s%s (expected %s) in %d ms: %s", scenario, variant, outcome, detected, expected,
                durationMs, asExpected() ? "OK" : "UNEXPECTED");
    }
}
