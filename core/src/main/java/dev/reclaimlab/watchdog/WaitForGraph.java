package dev.reclaimlab.watchdog;

import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.WaitRecord;
import dev.reclaimlab.locking.Wakers;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The wait-for graph of one scan, and what it proves (DESIGN.md rule 10). A waiter is stuck only when
 * nothing can end its wait: for a wait any one of several tasks can end (a queued work, a mutex), every one
 * of them is stuck; for a wait all of them must end (an rwsem writer and its readers), one of them is
 * stuck. A wait with a deadline, a wait whose task was woken and has not run yet, a wait someone outside
 * the known tasks can end (a pool that can start a worker), and a wait nobody is declared to owe prove
 * nothing. The stuck set is the greatest set closed under those rules; each cycle inside it is a proven
 * deadlock, found by Tarjan's algorithm and a walk inside each cyclic component.
 */
final class WaitForGraph {
    private final Map<Task, WaitRecord.Snapshot> stuck;
    private final Map<Task, Integer> index = new HashMap<>();
    private final Map<Task, Integer> low = new HashMap<>();
    private final Deque<Task> stack = new ArrayDeque<>();
    private final Set<Task> onStack = new HashSet<>();
    private final List<List<WaitRecord.Snapshot>> cycles = new ArrayList<>();
    private final Set<Task> inCycles = new HashSet<>();
    private int next;

    private WaitForGraph(Map<Task, WaitRecord.Snapshot> stuck) {
        this.stuck = stuck;
    }

    /** The graph of {@code blocked} (every task's consistent wait record, blocking kinds only). */
    static WaitForGraph build(Map<Task, WaitRecord.Snapshot> blocked) {
        WaitForGraph g = new WaitForGraph(stuck(blocked));
        for (Task t : g.stuck.keySet()) {
            if (!g.index.containsKey(t)) {
                g.strongConnect(t);
            }
        }
        return g;
    }

    /** Whether the wait could end without any other known task acting: it proves nothing. */
    static boolean canEndByItself(WaitRecord.Snapshot s) {
        Wakers w = s.wakers();
        return s.timed() || w.open() != null || w.unknown() || (w.mode() == Wakers.Mode.ALL && w.tasks().isEmpty())
                || (!s.kind().spins() && s.task().state() == Task.TASK_RUNNING);
    }

    /** The greatest set of waiters each of which is stuck given the others: see the class comment. */
    static Map<Task, WaitRecord.Snapshot> stuck(Map<Task, WaitRecord.Snapshot> blocked) {
        Map<Task, WaitRecord.Snapshot> set = new LinkedHashMap<>();
        for (Map.Entry<Task, WaitRecord.Snapshot> e : blocked.entrySet()) {
            if (!canEndByItself(e.getValue())) {
                set.put(e.getKey(), e.getValue());
            }
        }
        for (boolean changed = true; changed; ) {
            changed = false;
            for (Iterator<Map.Entry<Task, WaitRecord.Snapshot>> it = set.entrySet().iterator(); it.hasNext(); ) {
                Wakers w = it.next().getValue().wakers();
                boolean keep = w.mode() == Wakers.Mode.ALL ? w.tasks().stream().anyMatch(set::containsKey)
                        : set.keySet().containsAll(w.tasks());
                if (!keep) {
                    it.remove();
                    changed = true;
                }
            }
        }
        return set;
    }

    List<List<WaitRecord.Snapshot>> cycles() {
        return cycles;
    }

    /** Every provably stuck waiter, on a cycle or waiting behind one. */
    Map<Task, WaitRecord.Snapshot> stuckSet() {
        return stuck;
    }

    /** Tasks in a cyclic component (on a cycle or waiting inside one). */
    boolean inCycle(Task t) {
        return inCycles.contains(t);
    }

    /** The edges that matter for the proof: to the wakers that are stuck themselves. */
    private List<Task> edges(Task v) {
        List<Task> out = new ArrayList<>(2);
        for (Task w : stuck.get(v).wakers().tasks()) {
            if (stuck.containsKey(w)) {
                out.add(w);
            }
        }
        return out;
    }

    private void strongConnect(Task v) {
        // Recursive: wait-for graphs are as deep as the number of blocked tasks, which is small.
        index.put(v, next);
        low.put(v, next);
        next++;
        stack.push(v);
        onStack.add(v);
        for (Task w : edges(v)) {
            if (!index.containsKey(w)) {
                strongConnect(w);
                low.put(v, Math.min(low.get(v), low.get(w)));
            } else if (onStack.contains(w)) {
                low.put(v, Math.min(low.get(v), index.get(w)));
            }
        }
        if (low.get(v).equals(index.get(v))) {
            Set<Task> component = new HashSet<>();
            Task w;
            do {
                w = stack.pop();
                onStack.remove(w);
                component.add(w);
            } while (w != v);
            if (component.size() > 1 || edges(v).contains(v)) {
                inCycles.addAll(component);
                cycles.add(walkCycle(v, component));
            }
        }
    }

    /** Follows edges inside the component from {@code start} until a task repeats: that loop is a cycle. */
    private List<WaitRecord.Snapshot> walkCycle(Task start, Set<Task> component) {
        List<Task> path = new ArrayList<>();
        Task cur = start;
        while (!path.contains(cur)) {
            path.add(cur);
            Task nextTask = null;
            for (Task w : edges(cur)) {
                if (component.contains(w)) {
                    nextTask = w;
                    break;
                }
            }
            cur = nextTask;
        }
        List<WaitRecord.Snapshot> cycle = new ArrayList<>();
        for (Task t : path.subList(path.indexOf(cur), path.size())) {
            cycle.add(stuck.get(t));
        }
        return cycle;
    }
}
