package dev.reclaimlab.scenario;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Seed 003's livelock scenario on 3.14: with 3.16's pair of fixes (current_may_throttle and nfsd
 * PF_LESS_THROTTLE only for loop-back WRITEs) the writers' data is committed through nfsd above the
 * scenario's floor and the run is clean. The runner boots and closes the kernel.
 */
class LoopbackNfsThrottleTest {
    private static final LoopbackNfsThrottle SCENARIO = new LoopbackNfsThrottle();
    /** The runner's hung-task timeout, short to keep the suite short; the progress window is half of it. */
    private static final long HUNG_TASK_MILLIS = 10_000;
    /** The command line's default memory. */
    private static final long MEMORY = 64L << 20;

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void lessThrottleCommitsAboveTheFloorAndRunsClean() {
        RunResult r = ScenarioRunner.run(SCENARIO, SCENARIO.variant("less-throttle"),
                new RunOptions(8, 1, MEMORY, HUNG_TASK_MILLIS, null));
        assertThat(r.outcome()).as(r.errors() + " " + r.progress()).isEqualTo(Outcome.CLEAN);
        assertThat(r.samples()).isNotEmpty();
        Sample last = r.samples().get(r.samples().size() - 1);
        double rate = last.workDone() / (last.atMs() / 1000.0);
        assertThat(rate).as(r.progress()).isGreaterThan(LoopbackNfsThrottle.FLOOR_BYTES_PER_SECOND);
    }
}
