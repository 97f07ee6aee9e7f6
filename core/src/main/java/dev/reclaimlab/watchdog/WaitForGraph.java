package dev.reclaimlab.watchdog;

import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.WaitRecord;

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
 * The wait-for graph of one scan: an edge from each blocked task to every task that can end its wait.
 * A strongly connected component with a cycle among blocked tasks is a proven deadlock: nobody outside it
 * is declared able to wake anyone inside.
 */
final class WaitForGraph {
    private final Map<Task, WaitRecord.Snapshot> blocked;
    private final Map<Task, Integer> index = new HashMap<>();
    private final Map<Task, Integer> low = new HashMap<>();
    private final Deque<Task> stack = new ArrayDeque<>();
    private final Set<Task> onStack = new HashSet<>();
    private final List<List<WaitRecord.Snapshot>> cycles = new ArrayList<>();
    private final Set<Task> inCycles = new HashSet<>();
    private int next;

    private WaitForGraph(Map<Task, WaitRecord.Snapshot> blocked) {
        this.blocked = blocked;
    }

    /**
     * Finds one simple cycle per cyclic component (Tarjan's algorithm, then a walk inside the component)
     * among the tasks that are provably stuck: see {@link #stuck}.
     */
    static WaitForGraph build(Map<Task, WaitRecord.Snapshot> blocked) {
        WaitForGraph g = new WaitForGraph(stuck(blocked));
        for (Task t : g.blocked.keySet()) {
            if (!g.index.containsKey(t)) {
                g.strongConnect(t);
            }
        }
        return g;
    }

    /**
     * Any one of a waiter's declared wakers can end its wait (a queued bio is owed by every worker of its
     * queue), so a waiter is stuck only if every one of them is stuck too; a waiter nobody is declared to
     * owe proves nothing. The greatest set with that property, found by removing waiters until none has a
     * waker outside the set.
     */
    static Map<Task, WaitRecord.Snapshot> stuck(Map<Task, WaitRecord.Snapshot> blocked) {
        Map<Task, WaitRecord.Snapshot> set = new LinkedHashMap<>(blocked);
        for (boolean changed = true; changed; ) {
            changed = false;
            for (Iterator<Map.Entry<Task, WaitRecord.Snapshot>> it = set.entrySet().iterator(); it.hasNext(); ) {
                List<Task> wakers = it.next().getValue().wakers();
                if (wakers.isEmpty() || !set.keySet().containsAll(wakers)) {
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

    /** Tasks in a cyclic component (on a cycle or waiting inside one). */
    boolean inCycle(Task t) {
        return inCycles.contains(t);
    }

    private void strongConnect(Task v) {
        // Recursive: wait-for graphs are as deep as the number of blocked tasks, which is small.
        index.put(v, next);
        low.put(v, next);
        next++;
        stack.push(v);
        onStack.add(v);
        for (Task w : blocked.get(v).wakers()) {
            if (!blocked.containsKey(w)) {
                continue;
            }
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
            if (component.size() > 1 || blocked.get(v).wakers().contains(v)) {
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
            for (Task w : blocked.get(cur).wakers()) {
                if (component.contains(w)) {
                    nextTask = w;
                    break;
                }
            }
            cur = nextTask;
        }
        List<WaitRecord.Snapshot> cycle = new ArrayList<>();
        for (Task t : path.subList(path.indexOf(cur), path.size())) {
            cycle.add(blocked.get(t));
        }
        return cycle;
    }
}
