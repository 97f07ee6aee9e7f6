package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.trace.ThrottleEvent;

/**
 * A named timed sleep in a throttle (mm/backing-dev.c congestion_wait(), balance_dirty_pages(),
 * mm/vmscan.c's too_many_isolated() loop): the task sleeps in D state but runs again by itself, so it is
 * never a hung task and can close no proven cycle; the watchdog counts it as busy when it looks for a
 * stall, and each task's {@link ThrottleAccount} says how often and how long it slept here.
 */
public final class Throttle implements Waitable {
    private final String name;

    public Throttle(String name) {
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    /** Sleeps for {@code nanos} with a THROTTLE wait record. */
    public void throttle(long nanos) {
        Task t = Task.current();
        t.mightSleep(name);
        long start = System.nanoTime();
        ThrottleEvent ev = new ThrottleEvent();
        ev.begin();
        try {
            Sleep.sleepFor(t, this, WaitKind.THROTTLE, nanos);
        } finally {
            t.throttleAccount().add(this, System.nanoTime() - start);
            ev.end();
            if (ev.shouldCommit()) {
                ev.task = t.toString();
                ev.site = name;
                ev.commit();
            }
        }
    }

    @Override
    public void wakers(WakerSink out) {
        out.open("time: it is a timed sleep");
    }

    @Override
    public String toString() {
        return "throttle " + name;
    }
}
