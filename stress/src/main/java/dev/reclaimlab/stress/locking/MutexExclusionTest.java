package dev.reclaimlab.stress.locking;

import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.Mutex;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.I_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Mutual exclusion and visibility of Mutex: two tasks each do a non-atomic read-modify-write of a plain
 * field under the mutex; a lost update (1) means two owners at once or an unlock that did not publish.
 */
@JCStressTest
@Outcome(id = "2", expect = ACCEPTABLE, desc = "both increments seen: the critical sections were exclusive")
@Outcome(id = "1", expect = FORBIDDEN, desc = "lost update: both tasks were inside the mutex")
@State
public class MutexExclusionTest {
    private static final LockClassKey KEY = new LockClassKey("stress_mutex");
    private final Mutex mutex = new Mutex("m", KEY);
    private int x;

    private void increment() {
        StressKernel.current();
        mutex.mutexLock();
        x = x + 1;
        mutex.mutexUnlock();
    }

    @Actor
    public void actor1() {
        increment();
    }

    @Actor
    public void actor2() {
        increment();
    }

    @Arbiter
    public void arbiter(I_Result r) {
        StressKernel.current();
        mutex.mutexLock();
        r.r1 = x;
        mutex.mutexUnlock();
    }
}
