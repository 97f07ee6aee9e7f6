package dev.reclaimlab.locking;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where one task slept in throttles: for each throttle site, how often and for how long (delay
 * accounting, as /proc/PID/sched keeps for a task). Written only by its task; read by the watchdog.
 */
public final class ThrottleAccount {
    private final ConcurrentHashMap<Throttle, Site> sites = new ConcurrentHashMap<>();

    /** One site's totals. */
    static final class Site {
        volatile long count;
        volatile long nanos;
    }

    void add(Throttle where, long nanos) {
        Site s = sites.get(where);
        if (s == null) {
            s = sites.computeIfAbsent(where, w -> new Site());
        }
        s.count = s.count + 1;
        s.nanos = s.nanos + nanos;
    }

    /** Totals so far: site name to {count, nanoseconds}, in no particular order. */
    public Map<String, long[]> totals() {
        Map<String, long[]> m = new LinkedHashMap<>();
        for (Map.Entry<Throttle, Site> e : sites.entrySet()) {
            m.merge(e.getKey().name(), new long[] {e.getValue().count, e.getValue().nanos},
                    (a, b) -> new long[] {a[0] + b[0], a[1] + b[1]});
        }
        return m;
    }
}
