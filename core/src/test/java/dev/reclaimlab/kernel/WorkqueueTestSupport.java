package dev.reclaimlab.kernel;

import dev.reclaimlab.locking.WaitRecord;

/** Helpers for tests that watch kernel threads wait. */
public final class WorkqueueTestSupport {
    private WorkqueueTestSupport() {
    }

    /** Spins (no sleep) until {@code t} sleeps in a blocking wait; returns that wait. */
    public static WaitRecord.Snapshot awaitBlocked(Task t) {
        for (;;) {
            WaitRecord.Snapshot s = t.waitRecord().snapshot();
            if (s != null && s.kind().blocks()) {
                return s;
            }
            Thread.onSpinWait();
        }
    }
}
