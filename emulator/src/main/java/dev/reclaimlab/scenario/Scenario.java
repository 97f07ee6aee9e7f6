package dev.reclaimlab.scenario;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;

import java.util.List;

/** A seed thread made runnable: a workload and the kernel variants it runs on. */
public interface Scenario {
    /** The command-line name, e.g. "xfs-on-loop". */
    String name();

    /** One line on what happens. */
    String description();

    /** The Linux release the scenario models (DESIGN.md rule 9); every variant boots as it. */
    KernelVersion version();

    /** CPUs of the machine the seed ran on, as far as the thread says (the emulator's default is 2). */
    default int cpus() {
        return 2;
    }

    /** The files in shared/seeds/ this scenario comes from. */
    List<String> seeds();

    /**
     * What lockdep cannot see on this scenario's deadlock path, in a sentence (a completion of IO, a page
     * lock, a bio owed by another task): a run that deadlocks with lockdep silent says it.
     */
    default String lockdepBlindSpot() {
        return "the cycle runs through waits lockdep does not track; only the watchdog can prove it";
    }

    /** The variants; the first is the default. */
    List<Variant> variants();

    /** Sets up devices and filesystems in {@code kernel} and starts the workload. */
    Workload start(Kernel kernel, Variant variant, long seed);

    default Variant variant(String name) {
        for (Variant v : variants()) {
            if (v.name().equals(name)) {
                return v;
            }
        }
        throw new IllegalArgumentException("scenario " + name() + " has no variant '" + name + "'; it has "
                + variants().stream().map(Variant::name).toList());
    }
}
