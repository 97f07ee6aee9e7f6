package dev.reclaimlab.locking;

import java.util.List;
import java.util.Locale;
import java.util.TreeSet;

/**
 * One lockdep splat as data (DESIGN.md rule 12): what kernel/locking/lockdep.c's print_circular_bug(),
 * print_deadlock_bug(), print_usage_bug(), print_irq_inversion_bug(), print_bad_irq_dependency() and
 * print_unlock_imbalance_bug() print, in typed fields, plus reclaimlab's verdict. {@link #text()} renders
 * the kernel's text for the version that made the report ({@link Style}); JSON is rendered from the
 * fields outside core. The parts a type does not have are null.
 *
 * @param task "comm:pid"; {@code cpu} the CPU it last ran on, as dump_stack() prints it
 * @param acquiring the lock being acquired (circular, recursive, safe -> unsafe), whose state changed
 *        (inconsistent, inversion), or being released (bad unlock)
 * @param acquiredAt the kernel frame that takes {@code acquiring}, or null
 * @param holding the held lock of the new dependency (circular, recursive, safe -> unsafe)
 * @param chain circular: "the existing dependency chain (in reverse order)", #N first, #0 (the new lock) last
 * @param classes the classes involved: for a cycle the new lock first, then along the chain to the held lock
 * @param verdict reclaimlab's judgement of the instances; null when verdicts are off
 */
public record LockdepReport(Type type, String title, Style style, String task, String comm, int pid, int cpu,
                            HeldLock acquiring, String acquiredAt, HeldLock holding, List<ChainEntry> chain,
                            UsageConflict usageConflict, Inversion inversion, Scenario scenario,
                            List<HeldLock> heldLocks, List<String> stack, List<String> classes, Verdict verdict) {

    public enum Type {
        /** possible circular locking dependency detected */
        CIRCULAR,
        /** possible recursive locking detected */
        RECURSIVE,
        /** inconsistent lock state: {A} -> {B} usage (RECLAIM_FS, before 4.14) */
        INCONSISTENT_USAGE,
        /** possible irq lock inversion dependency detected (RECLAIM_FS, before 4.14) */
        IRQ_INVERSION,
        /** STATE-safe -> STATE-unsafe lock order detected (RECLAIM_FS, before 4.14) */
        SAFE_UNSAFE,
        /** bad unlock balance detected */
        BAD_UNLOCK
    }

    public LockdepReport {
        chain = chain == null ? null : List.copyOf(chain);
        heldLocks = List.copyOf(heldLocks);
        stack = List.copyOf(stack);
        classes = List.copyOf(classes);
    }

    /**
     * How the kernel that made the report prints: its release, the usage states per class (3 with
     * RECLAIM_FS, else 2), "WARNING: ..." titles (else "[ INFO: ... ]"), and held locks with the instance's
     * hashed address.
     */
    public record Style(String kernelVersion, int usageStates, boolean warningTag, boolean printInstance) {
    }

    /**
     * A lock as print_lock() shows it: its class and usage characters, plus (reclaimlab) the instance it
     * names. {@code address} is the hashed instance address 5.x prints, or null for a kernel that does not.
     *
     * @param read held_lock::read: 0, 1 (down_read) or 2 (recursive read)
     */
    public record HeldLock(int index, String className, String usage, String instanceName, long instance,
                           String address, int read, boolean trylock) {
        static HeldLock of(int index, LockdepMap m, LockClass c, int fl, long instance) {
            return new HeldLock(index, c.name, c.usage(), m.name(), instance,
                    c.style.printInstance() ? address(instance) : null, HeldLocks.read(fl), HeldLocks.trylock(fl));
        }

        /** %p of the instance, as hashed since 4.15: the low 32 bits only. */
        static String address(long instance) {
            long h = instance * 0x9E3779B97F4A7C15L;
            return String.format(Locale.ROOT, "%016x", (h ^ (h >>> 29)) & 0xffffffffL);
        }
    }

    /**
     * One entry of a dependency listing: the class, its usage, and the stack where it was taken after
     * {@code from} (recorded by {@code recordedBy}); for the inversion reports also the usage bits with the
     * stack where each was first set.
     */
    public record ChainEntry(int index, String className, String usage, String from, String recordedBy,
                             List<String> trace, List<UsageTrace> states) {
        public ChainEntry {
            trace = List.copyOf(trace);
            states = List.copyOf(states);
        }
    }

    /** A usage bit ("IN-RECLAIM_FS-W") and where the class first got it. */
    public record UsageTrace(String usage, List<String> trace) {
        public UsageTrace {
            trace = List.copyOf(trace);
        }
    }

    /** print_usage_bug(): "inconsistent {previous} -> {next} usage", and where {previous} was registered. */
    public record UsageConflict(String previous, String next, List<String> registeredAt) {
        public UsageConflict {
            registeredAt = List.copyOf(registeredAt);
        }
    }

    /**
     * print_irq_inversion_bug() (safe == null) and print_bad_irq_dependency(). {@code state} is the state
     * name ("RECLAIM_FS"). For an inversion, {@code other} is the class found and {@code forwards} says which
     * way: the lock "took another, unsafe lock" (true) or "was taken by another, safe lock";
     * {@code dependencies} the shortest path between them. For safe -> unsafe, {@code safe}/{@code unsafe}
     * with where each became so, and the two dependency listings.
     */
    public record Inversion(String state, boolean forwards, HeldLock other, List<ChainEntry> dependencies,
                            HeldLock safe, List<String> safeAt, HeldLock unsafe, List<String> unsafeAt,
                            List<ChainEntry> unsafeDependencies) {
        public Inversion {
            dependencies = List.copyOf(dependencies);
            safeAt = safeAt == null ? null : List.copyOf(safeAt);
            unsafeAt = unsafeAt == null ? null : List.copyOf(unsafeAt);
            unsafeDependencies = unsafeDependencies == null ? null : List.copyOf(unsafeDependencies);
        }
    }

    /**
     * The "Possible unsafe locking scenario" (and "Chain exists of:" when given): steps in order, each on
     * CPU0 or CPU1; an interrupt-style step is "<Interrupt>" followed by an indented action.
     */
    public record Scenario(String heading, List<String> chainExists, List<Step> steps, boolean missingNesting) {
        public Scenario {
            chainExists = chainExists == null ? null : List.copyOf(chainExists);
            steps = List.copyOf(steps);
        }
    }

    public record Step(int cpu, String text) {
    }

    /**
     * reclaimlab's verdict: CONFIRMED when, for every class of the report's cycle, one lock instance was used
     * on both sides of it (or the watchdog proved a deadlock through the report's classes), UNCONFIRMED while
     * the instance sets stay disjoint; NONE for a report without a cycle (bad unlock).
     */
    public record Verdict(Status status, boolean byWatchdog, List<ClassVerdict> classes) {
        public enum Status { CONFIRMED, UNCONFIRMED, NONE }

        public Verdict {
            classes = List.copyOf(classes);
        }
    }

    /**
     * One class of a verdict: the instances on each side and how many were on both; {@code incomplete} when
     * some uses before the report were not recorded (the per-class budget was spent).
     */
    public record ClassVerdict(String className, String heldSide, String takenSide, int held, int taken, int both,
                               boolean incomplete) {
    }

    /** Identity for de-duplication: the type and the set of classes. */
    public String signature() {
        return type.name().toLowerCase(Locale.ROOT) + ":" + new TreeSet<>(classes);
    }

    /** The kernel's text for the report's version, then reclaimlab's verdict, marked as such. */
    public String text() {
        return LockdepText.render(this);
    }

    /** The same report with {@code v} as its verdict. */
    LockdepReport withVerdict(Verdict v) {
        return new LockdepReport(type, title, style, task, comm, pid, cpu, acquiring, acquiredAt, holding, chain,
                usageConflict, inversion, scenario, heldLocks, stack, classes, v);
    }

    @Override
    public String toString() {
        return text();
    }
}
