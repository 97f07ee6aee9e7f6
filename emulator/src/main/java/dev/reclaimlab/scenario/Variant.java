package dev.reclaimlab.scenario;

import dev.reclaimlab.kernel.KernelConfig;

import java.util.List;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * One kernel of a scenario: a name (the kernel it models, or the fix it applies), the fix switches it
 * sets in {@link KernelConfig} (DESIGN.md rule 4: a variant is a set of switches, never another code path),
 * and the outcome it must have.
 */
public record Variant(String name, String description, Outcome expected, List<String> switchNames,
                      UnaryOperator<KernelConfig.Builder> switches) {

    public Variant {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(expected, "expected");
        switchNames = List.copyOf(switchNames);
        Objects.requireNonNull(switches, "switches");
    }

    /** Applies the variant's switches to {@code base}. */
    public KernelConfig.Builder configure(KernelConfig.Builder base) {
        return switches.apply(base);
    }
}
