package dev.reclaimlab.stress.locking;

import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.RwSemaphore;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZ_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Readers exclude writers but not each other: two readers' down_read_trylock both succeed while the
 * semaphore is only read-held, and a writer's trylock succeeds afterwards because both readers left.
 */
@JCStressTest
@Outcome(id = "true, true", expect = ACCEPTABLE, desc = "both readers got in; the writer got in after them")
@Outcome(id = {"false, true", "true, false", "false, false"}, expect = FORBIDDEN,
        desc = "a reader was refused by another reader, or a reader's up_read was lost")
@State
public class RwsemReadersShareTest {
    private static final LockClassKey KEY = new LockClassKey("stress_rwsem_share");
    private final RwSemaphore sem = new RwSemaphore("s", KEY);
    private volatile boolean r1;
    private volatile boolean r2;

    @Actor
    public void reader1() {
        StressKernel.current();
        r1 = sem.downReadTrylock();
        if (r1) {
            sem.upRead();
        }
    }

    @Actor
    public void reader2() {
        StressKernel.current();
        r2 = sem.downReadTrylock();
        if (r2) {
            sem.upRead();
        }
    }

    @Arbiter
    public void arbiter(ZZ_Result r) {
        StressKernel.current();
        boolean writer = sem.downWriteTrylock();
        if (writer) {
            sem.upWrite();
        }
        r.r1 = r1 && r2;
        r.r2 = writer;
    }
}
