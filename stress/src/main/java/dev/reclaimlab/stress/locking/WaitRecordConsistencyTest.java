package dev.reclaimlab.stress.locking;

import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.Mutex;
import dev.reclaimlab.locking.WaitRecord;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * The watchdog's view of a wait is consistent with the lock's owner: two tasks contend for a mutex and,
 * around their own critical sections, snapshot each other's wait record as khungtaskd does. A snapshot
 * that names the waiting task itself as the one who can wake it (waiting on a lock it already owns) would
 * be a false self-deadlock. Every sleeping primitive waits through the same loop (Sleep.sleep: publish,
 * bracket the condition, clear inside the bracket on success), so this one property covers them all;
 * RwsemGrantIsNeverAFalseSelfWaitTest covers the rwsem's hand-off, the one place a lock changes hands
 * outside the waiter's bracket. Two actors only: jcstress skips tests with more actors than CPUs.
 */
@JCStressTest
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "every snapshot was consistent")
@Outcome(id = {"0, 1", "1, 0", "1, 1"}, expect = FORBIDDEN, desc = "a task was seen waiting on a mutex it owns")
@State
public class WaitRecordConsistencyTest {
    private static final LockClassKey KEY = new LockClassKey("stress_wait_record");
    private final Mutex mutex = new Mutex("m", KEY);
    private volatile Task t1;
    private volatile Task t2;

    @Actor
    public void contender1(II_Result r) {
        t1 = StressKernel.current();
        r.r1 = contendAndWatch(t2);
    }

    @Actor
    public void contender2(II_Result r) {
        t2 = StressKernel.current();
        r.r2 = contendAndWatch(t1);
    }

    private int contendAndWatch(Task other) {
        int bad = selfWait(other);
        mutex.mutexLock();
        bad |= selfWait(other);
        mutex.mutexUnlock();
        for (int i = 0; i < 4; i++) {
            bad |= selfWait(other);
        }
        return bad;
    }

    private static int selfWait(Task t) {
        if (t == null) {
            return 0;
        }
        WaitRecord.Snapshot s = t.waitRecord().snapshot();
        return s != null && s.wakers().tasks().contains(t) ? 1 : 0;
    }
}
