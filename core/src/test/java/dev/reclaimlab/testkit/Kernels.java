package dev.reclaimlab.testkit;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * Boots kernels whose config a test computes (a fix on or off, a parameter). Each kernel is attached to
 * the calling thread and closed by {@link KernelExtension} after the test, newest first, failed or not.
 * A test may close a kernel itself to assert on the closed kernel; the extension's close is then a no-op
 * and its leak check still runs.
 */
public final class Kernels {
    private final KernelConfig base;
    private final List<Kernel> booted = new ArrayList<>();

    Kernels(KernelConfig base) {
        this.base = base;
    }

    /** Boots {@code config} as it is. */
    public Kernel boot(KernelConfig config) {
        Objects.requireNonNull(config, "config");
        Kernel k = Kernel.boot(config);
        synchronized (booted) {
            booted.add(k);
        }
        k.currentTask();
        return k;
    }

    /** Boots the test's {@link Boot} config (or the defaults) as {@code edit} changes it. */
    public Kernel boot(UnaryOperator<KernelConfig.Builder> edit) {
        return boot(edit.apply(base.toBuilder()).build());
    }

    /** The config a {@link Boot} on the test (or none) gives; a Kernel parameter boots exactly this. */
    public KernelConfig base() {
        return base;
    }

    List<Kernel> booted() {
        synchronized (booted) {
            return List.copyOf(booted);
        }
    }
}
