package dev.reclaimlab.scenario;

import java.util.List;

/** A scenario's running workload: kernel threads doing IO until stopped or until the kernel panics. */
public interface Workload {
    /** One line for the progress display, e.g. "writes 1234 reads 567". */
    String progress();

    /**
     * Real work done so far, only ever growing: bytes read and verified, bytes or files written; never
     * loop iterations that found nothing to do. A run is CLEAN only if this kept growing to its end, so
     * the workload registers the same counter with the watchdog (registerProgress with a floor and a
     * window).
     */
    long workDone();

    /** Failures the workload itself saw (data mismatches, unexpected errors); empty when healthy. */
    List<String> errors();

    /** Asks the workload's tasks to finish; the kernel's close() stops whatever remains. */
    void stop();
}
