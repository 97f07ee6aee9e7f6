package dev.reclaimlab.scenario;

/** How a scenario run ended. */
public enum Outcome {
    /** The watchdog proved a wait-for cycle. */
    DEADLOCK,
    /** No cycle, but tasks hung past the timeout or a progress counter stood still (livelock). */
    STALL,
    /** The run finished, and lockdep reported a possible deadlock that did not happen. */
    LOCKDEP,
    /** The run finished with no report. */
    CLEAN,
    /** The workload failed (an oops, a data check, an unexpected error). */
    ERROR
}
