package dev.reclaimlab.stress.locking;

import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.RwSemaphore;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * A reader never overlaps a writer: the writer sets two plain fields under down_write; a reader under
 * down_read sees both or neither. A torn view (one of them) means reader and writer were inside together.
 */
@JCStressTest
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "reader ran before the writer")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "reader ran after the writer")
@Outcome(id = {"0, 1", "1, 0"}, expect = FORBIDDEN, desc = "torn: reader overlapped the writer")
@State
public class RwsemReadersWriterExclusionTest {
    private static final LockClassKey KEY = new LockClassKey("stress_rwsem");
    private final RwSemaphore sem = new RwSemaphore("s", KEY);
    private int a;
    private int b;

    @Actor
    public void writer() {
        StressKernel.current();
        sem.downWrite();
        a = 1;
        b = 1;
        sem.upWrite();
    }

    @Actor
    public void reader(II_Result r) {
        StressKernel.current();
        sem.downRead();
        r.r1 = b;
        r.r2 = a;
        sem.upRead();
    }
}
