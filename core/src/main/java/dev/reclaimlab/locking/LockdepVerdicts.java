package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.LockdepReport.ClassVerdict;
import dev.reclaimlab.locking.LockdepReport.Verdict;
import dev.reclaimlab.locking.LockdepReports.Link;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * reclaimlab's verdicts on lockdep reports (not a kernel feature). Lockdep reasons about classes; a
 * deadlock needs instances. For every report this records, per step of its cycle, which lock instances
 * were used there: for a step through reclaim, the instances held across a reclaim-capable allocation
 * and those taken (not trylocked) in reclaim, tracked for every class from boot within a budget per class;
 * for a dependency prev -> next, which instance of prev was held while which instance of next was taken,
 * tracked from the report on. The verdict is CONFIRMED when these uses close a cycle of instances (for a
 * one-class reclaim inversion: one instance used on both sides), or the watchdog proved a deadlock through
 * the report's classes; UNCONFIRMED while they do not. It is re-evaluated whenever reports are read, so
 * the verdict at the end of a run is the one that counts.
 *
 * <p>An instance is a {@link LockdepMap} as long as {@link LockdepMap#newInstance()} is not called; code that
 * models an ownership change (an inode that became reclaimable) calls it, so uses in different ownership
 * periods are not taken for uses of one object by two parties at once.
 */
final class LockdepVerdicts {
    /** The reclaim node of the instance graph (instance ids are never 0). */
    private static final long RECLAIM = 0;

    private final Lockdep lockdep;
    private final boolean enabled;
    private final List<State> reports = new CopyOnWriteArrayList<>();
    private final Set<String> signatures = ConcurrentHashMap.newKeySet();
    /** Watched dependencies by (prev, next, belowReclaim); guarded by the graph lock. */
    private final Map<Long, WatchedEdge> watched = new HashMap<>();

    private static final class State {
        final LockdepReports.Found found;
        /** Per link of the cycle: its watched dependency, or null for a step through reclaim. */
        final WatchedEdge[] edges;
        volatile boolean byWatchdog;

        State(LockdepReports.Found found) {
            this.found = found;
            this.edges = new WatchedEdge[found.cycle().size()];
        }
    }

    LockdepVerdicts(Lockdep lockdep, boolean enabled) {
        this.lockdep = lockdep;
        this.enabled = enabled;
    }

    boolean enabled() {
        return enabled;
    }

    int size() {
        return reports.size();
    }

    /** A blocking acquisition of {@code map} (class c): "taken in reclaim", and the watched dependencies into c. */
    void onAcquire(HeldLocks h, LockdepMap map, LockClass c, boolean inReclaim) {
        if (!enabled || c.pseudo) {
            return;
        }
        long inst = map.instance();
        if (inReclaim) {
            c.below().add(inst);
        }
        WatchedEdge[] w = c.watchedIn;
        if (w != null) {
            int d = h.depth();
            for (WatchedEdge e : w) {
                if (e.belowReclaim && !inReclaim) {
                    continue;
                }
                for (int i = 0; i < d; i++) {
                    if (h.classes[i] == e.prev) {
                        e.add(h.instances[i], inst);
                    }
                }
            }
        }
    }

    /** Every held lock is held across a reclaim-capable allocation. */
    void onAbove(HeldLocks h) {
        if (!enabled) {
            return;
        }
        int d = h.depth();
        for (int i = 0; i < d; i++) {
            LockClass c = h.classes[i];
            if (!c.pseudo) {
                c.above().add(h.instances[i]);
            }
        }
    }

    /** Whether {@code f} is new: false if a report of its type and classes exists. */
    boolean claim(LockdepReports.Found f) {
        return signatures.add(f.report().signature());
    }

    /** Adds a claimed report to {@link #reports()}; its cycle is watched from now on. */
    void publish(LockdepReports.Found f) {
        State s = new State(f);
        if (enabled) {
            synchronized (lockdep.graphLock) {
                watch(s);
            }
        }
        reports.add(s);
    }

    private void watch(State s) {
        List<Link> cycle = s.found.cycle();
        for (int k = 0; k < cycle.size(); k++) {
            Link l = cycle.get(k);
            if (reclaim(l.from()) || reclaim(l.to())) {
                if (!reclaim(l.from())) {
                    l.from().above().unbound();
                }
                if (!reclaim(l.to())) {
                    l.to().below().unbound();
                }
                continue;
            }
            long key = (((long) l.from().idx << 32) | l.to().idx) << 1 | (l.belowReclaim() ? 1 : 0);
            WatchedEdge e = watched.get(key);
            if (e == null) {
                e = new WatchedEdge(l.from(), l.to(), l.belowReclaim());
                watched.put(key, e);
                WatchedEdge[] old = l.to().watchedIn;
                WatchedEdge[] w = old == null ? new WatchedEdge[1] : java.util.Arrays.copyOf(old, old.length + 1);
                w[w.length - 1] = e;
                l.to().watchedIn = w;
            }
            if (l.seedHeld() != 0 && l.seedTaken() != 0) {
                e.add(l.seedHeld(), l.seedTaken());
            }
            s.edges[k] = e;
        }
    }

    private static boolean reclaim(LockClass c) {
        return c == null || c.pseudo;
    }

    /** The reports with their verdicts as of now. */
    List<LockdepReport> reports() {
        List<LockdepReport> out = new ArrayList<>(reports.size());
        for (State s : reports) {
            out.add(enabled ? s.found.report().withVerdict(evaluate(s)) : s.found.report());
        }
        return List.copyOf(out);
    }

    private Verdict evaluate(State s) {
        List<Link> cycle = s.found.cycle();
        if (cycle.isEmpty()) {
            return new Verdict(Verdict.Status.NONE, false, List.of());
        }
        int n = cycle.size();
        List<ClassVerdict> classes = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            Link in = cycle.get(k);
            Link out = cycle.get((k + 1) % n);
            LockClass c = in.to();
            if (reclaim(c)) {
                continue;
            }
            InstanceSet taken;
            String takenSide;
            boolean incomplete = false;
            if (reclaim(in.from())) {
                taken = c.below();
                takenSide = "taken in reclaim";
                incomplete = taken.saturated();
            } else {
                taken = s.edges[k].taken;
                takenSide = "taken while holding " + in.from().name + (in.belowReclaim() ? " in reclaim" : "");
            }
            InstanceSet held;
            String heldSide;
            if (reclaim(out.to())) {
                held = c.above();
                heldSide = "held across a reclaim-capable allocation";
                incomplete |= held.saturated();
            } else {
                held = s.edges[(k + 1) % n].held;
                heldSide = "held while taking " + out.to().name;
            }
            classes.add(new ClassVerdict(c.name, heldSide, takenSide, held.size(), taken.size(),
                    InstanceSet.common(held, taken), incomplete));
        }
        boolean byWatchdog = s.byWatchdog;
        boolean confirmed = byWatchdog || instanceCycle(s);
        return new Verdict(confirmed ? Verdict.Status.CONFIRMED : Verdict.Status.UNCONFIRMED, byWatchdog, classes);
    }

    /** Whether the recorded uses form a cycle of instances (reclaim being one node). */
    private boolean instanceCycle(State s) {
        List<Link> cycle = s.found.cycle();
        Map<Long, List<Long>> next = new HashMap<>();
        for (int k = 0; k < cycle.size(); k++) {
            Link l = cycle.get(k);
            if (reclaim(l.from()) && reclaim(l.to())) {
                continue;
            }
            if (reclaim(l.to())) {
                for (long x : l.from().above().snapshot()) {
                    next.computeIfAbsent(x, z -> new ArrayList<>()).add(RECLAIM);
                }
            } else if (reclaim(l.from())) {
                for (long y : l.to().below().snapshot()) {
                    next.computeIfAbsent(RECLAIM, z -> new ArrayList<>()).add(y);
                }
            } else {
                for (long[] p : s.edges[k].snapshot()) {
                    next.computeIfAbsent(p[0], z -> new ArrayList<>()).add(p[1]);
                }
            }
        }
        return hasCycle(next);
    }

    /** Iterative three-colour depth-first search. */
    private static boolean hasCycle(Map<Long, List<Long>> next) {
        Map<Long, Integer> colour = new HashMap<>();
        for (Long start : next.keySet()) {
            if (colour.containsKey(start)) {
                continue;
            }
            ArrayDeque<long[]> stack = new ArrayDeque<>();
            stack.push(new long[] {start, 0});
            colour.put(start, 1);
            while (!stack.isEmpty()) {
                long[] top = stack.peek();
                List<Long> succ = next.getOrDefault(top[0], List.of());
                if (top[1] < succ.size()) {
                    long v = succ.get((int) top[1]++);
                    Integer cv = colour.get(v);
                    if (cv == null) {
                        colour.put(v, 1);
                        stack.push(new long[] {v, 0});
                    } else if (cv == 1) {
                        return true;
                    }
                } else {
                    colour.put(top[0], 2);
                    stack.pop();
                }
            }
        }
        return false;
    }

    /** The watchdog proved a deadlock among {@code tasks}: confirm the reports all of whose classes they hold. */
    int confirmByWatchdog(List<Task> tasks) {
        Set<LockClass> held = new HashSet<>();
        for (Task t : tasks) {
            HeldLocks h = t.heldLocks();
            int d = Math.min(h.depth(), HeldLocks.MAX_LOCK_DEPTH);
            for (int i = 0; i < d; i++) {
                LockClass c = h.classes[i];
                if (c != null) {
                    held.add(c);
                }
            }
        }
        int n = 0;
        for (State s : reports) {
            List<Link> cycle = s.found.cycle();
            if (cycle.isEmpty() || s.byWatchdog) {
                continue;
            }
            boolean all = true;
            for (Link l : cycle) {
                if (!reclaim(l.to()) && !held.contains(l.to())) {
                    all = false;
                    break;
                }
            }
            if (all) {
                s.byWatchdog = true;
                n++;
            }
        }
        return n;
    }
}
