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
        volatile long wokenEarly;
    }

    void add(Throttle where, long nanos, boolean woken) {
        Site s = sites.get(where);
        if (s == null) {
            s = sites.computeIfAbsent(where, w -> new Site());
        }
        s.count = s.count + 1;
        s.nanos = s.nanos + nanos;
        if (woken) {
            s.wokenEarly = s.wokenEarly + 1;
        }
    }

    /**
     * Totals so far: site name to {count, nanoseconds, sleeps woken before their timeout}, in no particular
     * order.
     */
    public Map<String, long[]> totals() {
        Map<String, long[]> m = new LinkedHashMap<>();
        for (Map.Entry<Throttle, Site> e : sites.entrySet()) {
            Site s = e.getValue();
            m.merge(e.getKey().name(), new long[] {s.count, s.nanos, s.wokenEarly},
                    (a, b) -> new long[] {a[0] + b[0], a[1] + b[1], a[2] + b[2]});
        }
        return m;
    }
}
