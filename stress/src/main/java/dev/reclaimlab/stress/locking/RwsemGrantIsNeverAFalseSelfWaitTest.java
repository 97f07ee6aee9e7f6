package dev.reclaimlab.stress.locking;

import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.RwSemaphore;
import dev.reclaimlab.locking.WaitRecord;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * An rwsem is handed to the front waiter by the task that releases it (__rwsem_do_wake()): the releaser
 * counts the lock as the waiter's while the waiter still sleeps. The watchdog must never read such a
 * waiter as waiting on a lock it holds and not able to run: either the waiter has not been named owner
 * yet, or its wakers say it was granted (open), or it is runnable. Two writers contend and each snapshots
 * the other around its own critical section.
 */
@JCStressTest
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "no snapshot showed a stuck self-wait")
@Outcome(id = {"0, 1", "1, 0", "1, 1"}, expect = FORBIDDEN, desc = "a granted writer looked stuck on itself")
@State
public class RwsemGrantIsNeverAFalseSelfWaitTest {
    private static final LockClassKey KEY = new LockClassKey("stress_rwsem_grant");
    private final RwSemaphore sem = new RwSemaphore("s", KEY);
    private volatile Task t1;
    private volatile Task t2;

    @Actor
    public void writer1(II_Result r) {
        t1 = StressKernel.current();
        r.r1 = contendAndWatch(t2);
    }

    @Actor
    public void writer2(II_Result r) {
        t2 = StressKernel.current();
        r.r2 = contendAndWatch(t1);
    }

    private int contendAndWatch(Task other) {
        int bad = falseSelfWait(other);
        sem.downWrite();
        bad |= falseSelfWait(other);
        sem.upWrite();
        for (int i = 0; i < 4; i++) {
            bad |= falseSelfWait(other);
        }
        return bad;
    }

    private static int falseSelfWait(Task t) {
        if (t == null) {
            return 0;
        }
        WaitRecord.Snapshot s = t.waitRecord().snapshot();
        return s != null && s.wakers().open() == null && s.wakers().tasks().contains(t)
                && t.state() != Task.TASK_RUNNING ? 1 : 0;
    }
}
