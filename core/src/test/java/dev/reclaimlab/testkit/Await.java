package dev.reclaimlab.testkit;

import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.WaitRecord;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * Waits of a test for states no event announces (a task asleep in a wait, a counter reached). They spin,
 * yielding the CPU, and never sleep: a sleep would only guess how long the state takes. Each gives up
 * after its timeout with an AssertionError that says what it waited for.
 */
public final class Await {
    private static final int SPINS_BEFORE_YIELD = 100;

    private Await() {
    }

    /** Returns once {@code cond} holds; fails naming {@code what} after {@code timeout}. */
    public static void until(BooleanSupplier cond, String what, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (int spins = 0; !cond.getAsBoolean(); spins++) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + timeout + " waiting until " + what);
            }
            pause(spins);
        }
    }

    /**
     * Returns the wait {@code t} sleeps in once it is blocked: its wait record is of a kind that blocks
     * (not a throttle, not idling) and it is in TASK_UNINTERRUPTIBLE. Fails after {@code timeout} with the
     * last wait seen.
     */
    public static WaitRecord.Snapshot blocked(Task t, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (int spins = 0; ; spins++) {
            WaitRecord.Snapshot s = t.waitRecord().snapshot();
            if (s != null && s.kind().blocks() && (t.state() & Task.TASK_UNINTERRUPTIBLE) != 0) {
                return s;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + timeout + " waiting until " + t
                        + " blocks; its wait: " + (s == null ? "none" : s.kind().label() + " on " + s.on().name())
                        + ", state " + t.state());
            }
            pause(spins);
        }
    }

    private static void pause(int spins) {
        if (spins < SPINS_BEFORE_YIELD) {
            Thread.onSpinWait();
        } else {
            Thread.yield();
        }
    }
}
