package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.trace.ThrottleEvent;

import java.util.function.BooleanSupplier;

/**
 * A named timed sleep in a throttle (mm/backing-dev.c congestion_wait(), balance_dirty_pages(),
 * mm/vmscan.c's too_many_isolated() loop): the task sleeps in D state but runs again by itself, so it is
 * never a hung task and can close no proven cycle; the watchdog counts it as busy when it looks for a
 * stall, and each task's {@link ThrottleAccount} says how often and how long it slept here.
 */
public final class Throttle implements Waitable {
    static {
        // The first event of a JFR event class costs hundreds of milliseconds (its handler is generated then).
        // Pay it when the first throttle is declared, at boot, not inside the first sleep, where the stall
        // detector would count it as progress lost.
        ThrottleEvent warm = new ThrottleEvent();
        warm.begin();
        warm.end();
        warm.shouldCommit();
    }

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
            account(t, start, ev, false);
        }
    }

    /**
     * prepare_to_wait(q, TASK_UNINTERRUPTIBLE) + io_schedule_timeout(nanos) + finish_wait(), as
     * congestion_wait() sleeps: up to {@code nanos} on {@code q}, ended early once {@code woken} holds (the
     * waker publishes that, then wakes {@code q}). Still a timed sleep, so never stuck. Returns the
     * nanoseconds left, 0 when the timeout passed.
     */
    public long throttleOn(WaitQueue q, long nanos, BooleanSupplier woken) {
        if (q == null || woken == null) {
            throw new IllegalArgumentException(this + ": a wait queue and a wake condition are required");
        }
        Task t = Task.current();
        t.mightSleep(name);
        long start = System.nanoTime();
        ThrottleEvent ev = new ThrottleEvent();
        ev.begin();
        boolean early = false;
        try {
            int r = Sleep.sleep(t, this, WaitKind.THROTTLE, Task.TASK_UNINTERRUPTIBLE, Math.max(1, nanos), q.list(),
                    woken::getAsBoolean);
            early = r == Sleep.DONE;
            return early ? Math.max(0, nanos - (System.nanoTime() - start)) : 0;
        } finally {
            account(t, start, ev, early);
        }
    }

    private void account(Task t, long start, ThrottleEvent ev, boolean early) {
        t.throttleAccount().add(this, System.nanoTime() - start, early);
        ev.end();
        if (ev.shouldCommit()) {
            ev.task = t.toString();
            ev.site = name;
            ev.commit();
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
