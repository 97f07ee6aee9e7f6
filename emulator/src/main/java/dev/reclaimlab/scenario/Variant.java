package dev.reclaimlab.scenario;

import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.KernelConfig;
import dev.reclaimlab.locking.LockdepReport;

import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One kernel of a scenario: a name (the release it models, or the fix it applies), the {@link Fix}es it
 * applies on top of the scenario's release, the fixes of that release it takes out (a release candidate
 * from before a fix landed in the release), and the outcome it must have (DESIGN.md rule 4: a variant is
 * a set of switches, never another code path).
 *
 * <p>{@code leaves}: the lockdep reports the variant's fix leaves by design, each with the reason, e.g.
 * {@code __GFP_NOLOCKDEP} hides an allocation from lockdep but not the locks reclaim then takes. A CLEAN
 * variant's run whose only reports are of those types is as expected; its outcome stays LOCKDEP, since that
 * is what lockdep said (DESIGN.md rule 12).
 */
public record Variant(String name, String description, Outcome expected, List<Fix> fixes, List<Fix> without,
                      Map<LockdepReport.Type, String> leaves) {

    public Variant {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(description, "description");
        Objects.requireNonNull(expected, "expected");
        fixes = List.copyOf(fixes);
        without = List.copyOf(without);
        Objects.requireNonNull(leaves, "variant " + name + ": leaves");
        if (!leaves.isEmpty() && expected != Outcome.CLEAN) {
            throw new IllegalArgumentException("variant " + name + " expects " + expected
                    + ": only a CLEAN variant can leave lockdep reports");
        }
        leaves.forEach((type, why) -> {
            if (type == null || why == null || why.isBlank()) {
                throw new IllegalArgumentException("variant " + name + ": a left report needs a type and a reason");
            }
        });
        leaves = leaves.isEmpty() ? Map.of() : Collections.unmodifiableMap(new EnumMap<>(leaves));
        for (Fix f : without) {
            if (fixes.contains(f)) {
                throw new IllegalArgumentException("variant " + name + " both applies and takes out " + f);
            }
        }
    }

    /** A variant that leaves no lockdep report. */
    public Variant(String name, String description, Outcome expected, List<Fix> fixes, List<Fix> without) {
        this(name, description, expected, fixes, without, Map.of());
    }

    /** A variant that only applies fixes on top of the release. */
    public Variant(String name, String description, Outcome expected, List<Fix> fixes) {
        this(name, description, expected, fixes, List.of());
    }

    /** The release itself, with no fix on top. */
    public static Variant release(String name, String description, Outcome expected) {
        return new Variant(name, description, expected, List.of());
    }

    /** Applies the variant's fixes to {@code base} and takes out the ones it runs without. */
    public KernelConfig.Builder configure(KernelConfig.Builder base) {
        return base.without(without.toArray(new Fix[0])).with(fixes.toArray(new Fix[0]));
    }

    /** The fixes' names, for listings. */
    public List<String> fixNames() {
        return fixes.stream().map(Fix::name).toList();
    }

    /** The names of the release's fixes this variant runs without. */
    public List<String> withoutNames() {
        return without.stream().map(Fix::name).toList();
    }

    /** This variant, with reports of {@code type} left by its fix for the reason {@code why}. */
    public Variant leaving(LockdepReport.Type type, String why) {
        Map<LockdepReport.Type, String> m = new EnumMap<>(LockdepReport.Type.class);
        m.putAll(leaves);
        m.put(type, why);
        return new Variant(name, description, expected, fixes, without, m);
    }
}
