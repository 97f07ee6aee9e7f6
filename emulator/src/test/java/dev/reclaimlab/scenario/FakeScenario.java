package dev.reclaimlab.scenario;

import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Completion;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.Mutex;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A fast scenario for harness tests whose outcome is a function of the seed: two kthreads, two mutexes.
 * "abba" takes them in opposite orders at once, which deadlocks for real (the watchdog proves it within a
 * second), except for seeds divisible by 4, where the second worker waits for the first to finish and
 * lockdep reports the inversion instead (LOCKDEP, unexpected). "fixed" takes one order (CLEAN), but seed 5
 * deadlocks: a regression. "sequential" takes the orders one after the other (LOCKDEP). "nested", which only
 * the runner's tests build (it is not listed), takes two locks of one class in one task: a recursive-locking
 * report and nothing else. The runner's tests and
 * the stress module's harness tests (through this module's test jar) share it.
 */
public final class FakeScenario implements Scenario {
    private static final LockClassKey LOCK_A = new LockClassKey("fake_lock_a");
    private static final LockClassKey LOCK_B = new LockClassKey("fake_lock_b");
    public static final Fix FAKE_FIX = Fix.declare("fake_lock_order", "the fake scenario's fix: one lock order",
            "none: a test declaration", null);

    /** Whether an "abba" run's workers overlap and deadlock; otherwise lockdep sees the inversion. */
    public static boolean abbaOverlaps(long seed) {
        return seed % 4 != 0;
    }

    public static final long FIXED_REGRESSION_SEED = 5;

    public static List<Scenario> all() {
        return List.of(new FakeScenario());
    }

    @Override
    public String name() {
        return "fake";
    }

    @Override
    public String description() {
        return "two kthreads, two mutexes; the outcome is the seed's";
    }

    @Override
    public KernelVersion version() {
        return KernelVersion.V4_3;
    }

    @Override
    public List<String> seeds() {
        return List.of("none.txt");
    }

    @Override
    public List<Variant> variants() {
        return List.of(
                Variant.release("abba", "opposite orders at once", Outcome.DEADLOCK),
                new Variant("fixed", "one order", Outcome.CLEAN, List.of(FAKE_FIX)),
                Variant.release("sequential", "opposite orders one after the other", Outcome.LOCKDEP));
    }

    @Override
    public Workload start(Kernel k, Variant v, long seed) {
        Mutex a = new Mutex("a", LOCK_A);
        Mutex b = new Mutex("b", LOCK_B);
        if (v.name().equals("nested")) {
            return nested(k, a, new Mutex("a2", LOCK_A));
        }
        Completion oneHolds = new Completion("worker1 holds its first");
        Completion twoHolds = new Completion("worker2 holds its first");
        Completion firstDone = new Completion("first done");
        AtomicLong rounds = new AtomicLong();
        boolean concurrent = v.name().equals("abba") ? abbaOverlaps(seed)
                : v.name().equals("fixed") && seed == FIXED_REGRESSION_SEED;
        boolean invert = !v.name().equals("fixed") || concurrent;
        Task t1 = k.kthreadRun("worker1", self -> {
            a.mutexLock();
            if (concurrent) {
                oneHolds.complete();
                twoHolds.waitForCompletion();
            }
            b.mutexLock();
            rounds.incrementAndGet();
            b.mutexUnlock();
            a.mutexUnlock();
            firstDone.completeAll();
        });
        Task t2 = k.kthreadRun("worker2", self -> {
            if (!concurrent) {
                firstDone.waitForCompletion();
            }
            Mutex first = invert ? b : a;
            Mutex second = invert ? a : b;
            first.mutexLock();
            if (concurrent) {
                twoHolds.complete();
                oneHolds.waitForCompletion();
            }
            second.mutexLock();
            rounds.incrementAndGet();
            second.mutexUnlock();
            first.mutexUnlock();
        });
        oneHolds.expectWaker(t1);
        twoHolds.expectWaker(t2);
        firstDone.expectWaker(t1);
        return counting(rounds);
    }

    /** One task that holds a while it takes a2 of the same class, once. */
    private static Workload nested(Kernel k, Mutex a, Mutex a2) {
        AtomicLong rounds = new AtomicLong();
        k.kthreadRun("nester", self -> {
            a.mutexLock();
            a2.mutexLock();
            rounds.incrementAndGet();
            a2.mutexUnlock();
            a.mutexUnlock();
        });
        return counting(rounds);
    }

    /** The workload as the runner sees it: its rounds are its work; nothing to stop, no errors. */
    private static Workload counting(AtomicLong rounds) {
        return new Workload() {
            @Override
            public String progress() {
                return "rounds " + rounds.get();
            }

            @Override
            public long workDone() {
                return rounds.get();
            }

            @Override
            public List<String> errors() {
                return List.of();
            }

            @Override
            public void stop() {
            }
        };
    }
}
