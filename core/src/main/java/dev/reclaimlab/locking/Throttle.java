package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;

import java.util.List;

/**
 * A named timed sleep in a throttle (mm/backing-dev.c congestion_wait(), balance_dirty_pages()): the
 * task sleeps in D state but runs again by itself, so it is never a hung task; the watchdog counts it
 * as "busy" when it looks for a stall (livelock).
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
        WaitRecord rec = t.waitRecord();
        rec.publish(this, WaitKind.THROTTLE);
        try {
            t.setState(Task.TASK_UNINTERRUPTIBLE);
            t.scheduleTimeout(nanos);
        } finally {
            t.setState(Task.TASK_RUNNING);
            rec.clear();
        }
    }

    @Override
    public void addWakers(List<Task> out) {
        // Time ends a throttle, not another task.
    }

    @Override
    public String toString() {
        return "throttle " + name;
    }
}
