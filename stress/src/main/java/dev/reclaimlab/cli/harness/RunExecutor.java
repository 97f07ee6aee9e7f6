package dev.reclaimlab.cli.harness;

import dev.reclaimlab.cli.campaign.RunSpec;
import dev.reclaimlab.cli.json.RunRecord;

/** Runs one run of a campaign to its record; called from several harness threads at once. */
public interface RunExecutor extends AutoCloseable {
    RunRecord run(RunSpec spec) throws InterruptedException;

    /** Ends whatever runs are in flight (Ctrl-C); their records are not kept. */
    default void abort() {
    }

    @Override
    default void close() {
    }
}
