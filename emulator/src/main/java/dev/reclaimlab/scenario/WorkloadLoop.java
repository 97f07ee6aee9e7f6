package dev.reclaimlab.scenario;

import dev.reclaimlab.kernel.KernelPanic;
import dev.reclaimlab.kernel.Task;

import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The loop a scenario workload's kernel threads run (tooling, no kernel function): one operation after
 * another until the workload is stopped, the thread is asked to stop, or any of its tasks has failed. A
 * kernel panic passes through (the watchdog's proof ends the run); any other failure is the workload's
 * finding, unless the workload was already stopping: the runner collects {@link #errors()} before it stops
 * the workload, so a failure after that is the stop's doing (IO ended by a closing kernel), not a finding.
 */
final class WorkloadLoop {
    private final AtomicLong ops = new AtomicLong();
    private final List<String> errors = new CopyOnWriteArrayList<>();
    private volatile boolean stopping;

    /** Runs {@code op} in {@code self} until stopped; each completed {@code op} counts one operation. */
    void run(Task self, Runnable op) {
        while (runOnce(self, op)) {
            // next operation
        }
    }

    /**
     * Runs {@code op} once in {@code self}, as one operation, unless the workload is stopping or has failed;
     * false if it did not run or failed.
     */
    boolean runOnce(Task self, Runnable op) {
        if (stopping || self.kthreadShouldStop() || !errors.isEmpty()) {
            return false;
        }
        try {
            op.run();
            ops.incrementAndGet();
            return true;
        } catch (KernelPanic p) {
            throw p;
        } catch (RuntimeException | AssertionError e) {
            if (!stopping && !self.kthreadShouldStop()) {
                errors.add(self + ": " + e);
            }
            return false;
        }
    }

    boolean stopping() {
        return stopping;
    }

    void stop() {
        stopping = true;
    }

    /** Operations completed by every task of the workload. */
    long ops() {
        return ops.get();
    }

    /** The failures seen so far, oldest first; empty while the workload is healthy. */
    List<String> errors() {
        return Collections.unmodifiableList(errors);
    }
}
