package dev.reclaimlab.stress.locking;

import dev.reclaimlab.locking.Completion;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.Z_Result;

import java.util.concurrent.TimeUnit;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * complete() racing wait_for_completion() never loses the wake-up: whichever runs first, the waiter
 * returns with the completion well before its generous timeout. A timeout (false) is a lost wake-up.
 */
@JCStressTest
@Outcome(id = "true", expect = ACCEPTABLE, desc = "the waiter saw the completion")
@Outcome(id = "false", expect = FORBIDDEN, desc = "lost wake-up: the waiter slept until its timeout")
@State
public class CompletionNoLostWakeupTest {
    private static final long TIMEOUT = TimeUnit.SECONDS.toNanos(5);
    private final Completion done = new Completion("done");

    @Actor
    public void completer() {
        StressKernel.current();
        done.complete();
    }

    @Actor
    public void waiter(Z_Result r) {
        StressKernel.current();
        r.r1 = done.waitForCompletionTimeout(TIMEOUT);
    }
}
