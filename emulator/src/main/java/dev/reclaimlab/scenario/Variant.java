package dev.reclaimlab.scenario;

import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.KernelConfig;

import java.util.List;
import java.util.Objects;

/**
 * One kernel of a scenario: a name (the release it models, or the fix it applies), the {@link Fix}es it
 * applies on top of the scenario's release (DESIGN.md rule 4: a variant is a set of switches, never
 * another code path), and the outcome it must have.
 */
public record Variant(String name, String description, Outcome expected, List<Fix> fixes) {

    public Variant {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(description, "description");
        Objects.requireNonNull(expected, "expected");
        fixes = List.copyOf(fixes);
    }

    /** The release itself, with no fix on top. */
    public static Variant release(String name, String description, Outcome expected) {
        return new Variant(name, description, expected, List.of());
    }

    /** Applies the variant's fixes to {@code base}. */
    public KernelConfig.Builder configure(KernelConfig.Builder base) {
        return base.with(fixes.toArray(new Fix[0]));
    }

    /** The fixes' names, for listings. */
    public List<String> fixNames() {
        return fixes.stream().map(Fix::name).toList();
    }
}
