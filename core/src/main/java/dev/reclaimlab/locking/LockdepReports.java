package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.LockdepReport.ChainEntry;
import dev.reclaimlab.locking.LockdepReport.HeldLock;
import dev.reclaimlab.locking.LockdepReport.Scenario;
import dev.reclaimlab.locking.LockdepReport.Step;
import dev.reclaimlab.locking.LockdepReport.Type;
import dev.reclaimlab.locking.LockdepReport.UsageTrace;

import java.util.ArrayList;
import java.util.List;

/**
 * Builds {@link LockdepReport}s from lockdep's state at the moment of the splat (called under the graph
 * lock, so usage characters and paths are consistent), each with the cycle its verdict judges: the
 * dependencies as {@link Link}s, a null end standing for "reclaim" (RECLAIM_FS before 4.14).
 */
final class LockdepReports {
    private final LockdepReport.Style style;

    LockdepReports(LockdepReport.Style style) {
        this.style = style;
    }

    /**
     * One step of a report's cycle: {@code from} held while {@code to} is taken. A null end, or the
     * fs_reclaim pseudo-lock, is reclaim: "held across a reclaim-capable allocation" / "taken in reclaim".
     * {@code belowReclaim}: the step is one reclaim takes (only uses in reclaim count for it). The seeds are
     * the instances of the step's first recording, or 0.
     */
    record Link(LockClass from, LockClass to, boolean belowReclaim, long seedHeld, long seedTaken) {
        static Link reclaim(LockClass from, LockClass to) {
            return new Link(from, to, false, 0, 0);
        }

        static Link of(LockEdge e) {
            return new Link(e.prev, e.next, e.inReclaim, e.prevInstance, e.nextInstance);
        }
    }

    /** A report and its cycle (empty for a report without one). */
    record Found(LockdepReport report, List<Link> cycle) {
    }

    static HeldLock pending(LockdepMap map, LockClass c, int fl) {
        return HeldLock.of(-1, map, c, fl, map.instance());
    }

    static HeldLock held(HeldLocks h, int i) {
        return HeldLock.of(i, h.maps[i], h.classes[i], h.flags[i], h.instances[i]);
    }

    /** A class without an instance (print_lock_name()). */
    static HeldLock cls(LockClass c) {
        return new HeldLock(-1, c.name, c.usage(), null, 0, null, 0, false);
    }

    private LockdepReport base(Type type, String title, Task t, HeldLock acquiring, String at, HeldLock holding,
                               List<ChainEntry> chain, LockdepReport.UsageConflict uc, LockdepReport.Inversion inv,
                               Scenario sc, HeldLocks h, List<String> stack, List<String> classes) {
        return new LockdepReport(type, title, style, t.toString(), t.comm(), t.pid(), t.cpu(), acquiring, at,
                holding, chain, uc, inv, sc, h.snapshot(), stack, classes, null);
    }

    /** print_circular_bug(): the new prev -> next closes the cycle next -> ... -> prev ({@code path}). */
    Found circular(Task t, HeldLocks h, int i, LockdepMap map, LockClass next, int fl, List<LockEdge> path,
                   List<String> trace, boolean inReclaim) {
        LockClass prev = h.classes[i];
        List<ChainEntry> chain = new ArrayList<>();
        for (int k = path.size() - 1; k >= 0; k--) {
            LockEdge e = path.get(k);
            chain.add(new ChainEntry(k + 1, e.next.name, e.next.usage(), e.prev.name, e.task, e.trace, List.of()));
        }
        chain.add(new ChainEntry(0, next.name, next.usage(), prev.name, t.toString(), trace, List.of()));
        List<String> classes = new ArrayList<>();
        classes.add(next.name);
        List<Link> cycle = new ArrayList<>();
        for (LockEdge e : path) {
            classes.add(e.next.name);
            cycle.add(Link.of(e));
        }
        cycle.add(new Link(prev, next, inReclaim, h.instances[i], map.instance()));
        LockClass parent = path.get(path.size() - 1).prev;
        List<Step> steps = List.of(new Step(0, "lock(" + prev.name + ");"), new Step(1, "lock(" + parent.name + ");"),
                new Step(1, "lock(" + prev.name + ");"), new Step(0, "lock(" + next.name + ");"));
        Scenario sc = new Scenario("Possible unsafe locking scenario",
                parent != next ? List.of(next.name, parent.name, prev.name) : null, steps, false);
        LockdepReport r = base(Type.CIRCULAR, "possible circular locking dependency detected", t,
                pending(map, next, fl), KernelStack.caller(), held(h, i), chain, null, null, sc, h, trace, classes);
        return new Found(r, cycle);
    }

    /** print_deadlock_bug(): {@code next} of a class the task already holds (entry {@code i}). */
    Found recursive(Task t, HeldLocks h, int i, LockdepMap map, LockClass next, int fl, List<String> trace) {
        Scenario sc = new Scenario("Possible unsafe locking scenario", null,
                List.of(new Step(0, "lock(" + h.classes[i].name + ");"), new Step(0, "lock(" + next.name + ");")), true);
        LockdepReport r = base(Type.RECURSIVE, "possible recursive locking detected", t, pending(map, next, fl),
                KernelStack.caller(), held(h, i), null, null, null, sc, h, trace, List.of(next.name));
        return new Found(r, List.of(new Link(next, next, Lockdep.inReclaim(h), h.instances[i], map.instance())));
    }

    /** print_usage_bug(): {@code lock} (of class c) gets {@code newBit} while the class has {@code prevBit}. */
    Found inconsistent(Task t, HeldLocks h, HeldLock lock, String at, LockClass c, int prevBit, int newBit,
                       List<String> trace) {
        Scenario sc = new Scenario("Possible unsafe locking scenario", null, List.of(new Step(0, "lock(" + c.name + ");"),
                new Step(0, "<Interrupt>"), new Step(0, "  lock(" + c.name + ");")), false);
        List<String> registered = c.usageTraces[prevBit] == null ? List.of() : c.usageTraces[prevBit];
        LockdepReport r = base(Type.INCONSISTENT_USAGE, "inconsistent lock state", t, lock, at, null, null,
                new LockdepReport.UsageConflict(LockUsage.usageStr(prevBit), LockUsage.usageStr(newBit), registered),
                null, sc, h, trace, List.of(c.name));
        return new Found(r, List.of(Link.reclaim(c, null), Link.reclaim(null, c)));
    }

    /**
     * print_irq_inversion_bug(): {@code c} just got a usage bit and {@code path} leads (forwards) to, or
     * (backwards, in dependency order) from, {@code other} with the excluding bit.
     */
    Found inversion(Task t, HeldLocks h, HeldLock lock, String at, LockClass c, boolean forwards,
                    List<LockEdge> path, LockClass other, String state, List<String> trace) {
        LockClass safe = forwards ? c : other;
        LockClass unsafe = forwards ? other : c;
        LockClass middle;
        if (path.isEmpty()) {
            middle = forwards ? c : other;
        } else {
            middle = forwards ? path.get(0).next : path.get(path.size() - 1).prev;
        }
        Scenario sc = irqScenario(safe, unsafe, forwards ? middle : (middle == safe ? unsafe : middle));
        List<ChainEntry> deps = dependencies(path, forwards, c, trace);
        List<String> classes = new ArrayList<>();
        List<Link> cycle = new ArrayList<>();
        cycle.add(Link.reclaim(null, safe));
        classes.add(safe.name);
        for (LockEdge e : path) {
            cycle.add(Link.of(e));
            classes.add(e.next.name);
        }
        cycle.add(Link.reclaim(unsafe, null));
        LockdepReport.Inversion inv = new LockdepReport.Inversion(state, forwards, cls(other), deps, null, null,
                null, null, null);
        LockdepReport r = base(Type.IRQ_INVERSION, "possible irq lock inversion dependency detected", t, lock, at,
                null, null, null, inv, sc, h, trace, classes);
        return new Found(r, cycle);
    }

    /**
     * print_bad_irq_dependency(): the new prev -> next connects {@code safe} (reached backwards from prev,
     * {@code back} in dependency order) with {@code unsafe} (reached forwards from next).
     */
    Found safeUnsafe(Task t, HeldLocks h, int i, LockdepMap map, LockClass next, int fl, LockClass safe,
                     List<LockEdge> back, int safeBit, LockClass unsafe, List<LockEdge> fwd, int unsafeBit,
                     String state, List<String> trace, boolean inReclaim) {
        LockClass prev = h.classes[i];
        LockClass middle = prev == safe ? next : prev;
        Scenario sc = irqScenario(safe, unsafe, middle);
        List<Link> cycle = new ArrayList<>();
        List<String> classes = new ArrayList<>();
        cycle.add(Link.reclaim(null, safe));
        classes.add(safe.name);
        for (LockEdge e : back) {
            cycle.add(Link.of(e));
            classes.add(e.next.name);
        }
        cycle.add(new Link(prev, next, inReclaim, h.instances[i], map.instance()));
        classes.add(next.name);
        for (LockEdge e : fwd) {
            cycle.add(Link.of(e));
            classes.add(e.next.name);
        }
        cycle.add(Link.reclaim(unsafe, null));
        LockdepReport.Inversion inv = new LockdepReport.Inversion(state, false, null,
                dependencies(back, false, prev, trace), cls(safe), traceOf(safe, safeBit), cls(unsafe),
                traceOf(unsafe, unsafeBit), dependencies(fwd, true, next, trace));
        LockdepReport r = base(Type.SAFE_UNSAFE, state + "-safe -> " + state + "-unsafe lock order detected", t,
                pending(map, next, fl), KernelStack.caller(), held(h, i), null, null, inv, sc, h, trace, classes);
        return new Found(r, cycle);
    }

    /** print_unlock_imbalance_bug(). */
    Found badUnlock(Task t, HeldLocks h, LockdepMap map, LockClass c, List<String> trace) {
        LockdepReport r = base(Type.BAD_UNLOCK, "bad unlock balance detected!", t, pending(map, c, 0),
                KernelStack.caller(), null, null, null, null, null, h, trace, List.of(c.name));
        return new Found(r, List.of());
    }

    /** print_irq_lock_scenario(). */
    private static Scenario irqScenario(LockClass safe, LockClass unsafe, LockClass middle) {
        List<Step> steps = List.of(new Step(0, "lock(" + unsafe.name + ");"), new Step(1, "local_irq_disable();"),
                new Step(1, "lock(" + safe.name + ");"), new Step(1, "lock(" + middle.name + ");"),
                new Step(0, "<Interrupt>"), new Step(0, "  lock(" + safe.name + ");"));
        return new Scenario("Possible interrupt unsafe locking scenario",
                middle != unsafe ? List.of(safe.name, middle.name, unsafe.name) : null, steps, false);
    }

    /**
     * print_shortest_lock_dependencies(): from the far end back to {@code root}, each class with its usage
     * bits and where it was acquired after its neighbour (the root: {@code trace}, the current stack).
     */
    private static List<ChainEntry> dependencies(List<LockEdge> path, boolean forwards, LockClass root,
                                                 List<String> trace) {
        List<ChainEntry> out = new ArrayList<>();
        int n = path.size();
        for (int k = 0; k < n; k++) {
            LockEdge e = forwards ? path.get(n - 1 - k) : path.get(k);
            LockClass c = forwards ? e.next : e.prev;
            out.add(new ChainEntry(n - k, c.name, c.usage(), forwards ? e.prev.name : e.next.name, e.task, e.trace,
                    states(c)));
        }
        out.add(new ChainEntry(0, root.name, root.usage(), null, null, trace, states(root)));
        return out;
    }

    private static List<UsageTrace> states(LockClass c) {
        List<UsageTrace> out = new ArrayList<>();
        for (int b = 0; b < LockUsage.LOCK_USED; b++) {
            if (c.has(b)) {
                out.add(new UsageTrace(LockUsage.usageStr(b), traceOf(c, b)));
            }
        }
        return out;
    }

    private static List<String> traceOf(LockClass c, int bit) {
        List<String> t = c.usageTraces[bit];
        return t == null ? List.of() : t;
    }
}
