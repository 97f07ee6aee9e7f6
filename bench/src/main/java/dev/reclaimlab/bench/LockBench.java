package dev.reclaimlab.bench;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelConfig;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.Lockdep;
import dev.reclaimlab.locking.Mutex;
import dev.reclaimlab.locking.RwSemaphore;
import dev.reclaimlab.mm.Gfp;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Uncontended lock/unlock of the emulator's instrumented locks against the JDK's, in one run. Targets:
 * lockdep off within 1.5x of ReentrantLock; lockdep on (chain cached) at most 30 ns/op; no allocation.
 * The verdict variants measure reclaimlab's instance tracking, on (the default) and off
 * (Lockdep.LOCKDEP_NO_VERDICTS), on a 5.3 kernel: a plain acquisition, one in reclaim (recorded as taken
 * in reclaim), one of a class a report watches, and lockdep's allocation hook with a lock held (recorded
 * as held across a reclaim-capable allocation).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.misc=ALL-UNNAMED"})
public class LockBench {
    private static final LockClassKey BENCH_MUTEX = new LockClassKey("bench_mutex");
    private static final LockClassKey BENCH_RWSEM = new LockClassKey("bench_rwsem");
    private static final LockClassKey BENCH_OUTER = new LockClassKey("bench_outer");
    private static final LockClassKey BENCH_WATCHED = new LockClassKey("bench_watched");

    /** A kernel with the benchmark thread attached as its current task (setup runs on that thread). */
    @State(Scope.Thread)
    public abstract static class KernelState {
        Kernel kernel;
        final Mutex mutex = new Mutex("bench_mutex", BENCH_MUTEX);
        final RwSemaphore rwsem = new RwSemaphore("bench_rwsem", BENCH_RWSEM);

        abstract boolean lockdep();

        @Setup(Level.Trial)
        public void boot() {
            kernel = Kernel.boot(KernelConfig.builder().memory("8m").watchdog(false).lockdep(lockdep()).build());
            kernel.currentTask();
        }

        @TearDown(Level.Trial)
        public void close() {
            kernel.close();
        }
    }

    public static class LockdepOff extends KernelState {
        @Override
        boolean lockdep() {
            return false;
        }
    }

    public static class LockdepOn extends KernelState {
        @Override
        boolean lockdep() {
            return true;
        }
    }

    /** A 5.3 kernel with lockdep on; {@code verdicts} selects reclaimlab's instance tracking. */
    @State(Scope.Thread)
    public abstract static class VerdictState {
        Kernel kernel;
        Task task;
        final Mutex mutex = new Mutex("bench_mutex", BENCH_MUTEX);
        final Mutex outer = new Mutex("bench_outer", BENCH_OUTER);
        final Mutex watched = new Mutex("bench_watched", BENCH_WATCHED);

        abstract boolean verdicts();

        @Setup(Level.Trial)
        public void boot() {
            KernelConfig.Builder b = KernelConfig.builder().memory("8m").watchdog(false).version(KernelVersion.V5_3);
            kernel = Kernel.boot((verdicts() ? b : b.with(Lockdep.LOCKDEP_NO_VERDICTS)).build());
            task = kernel.currentTask();
            // A report on outer/watched: watched's acquisitions under outer are then recorded per instance pair.
            outer.mutexLock();
            watched.mutexLock();
            watched.mutexUnlock();
            outer.mutexUnlock();
            watched.mutexLock();
            outer.mutexLock();
            outer.mutexUnlock();
            watched.mutexUnlock();
            if (kernel.lockdep().reports().size() != 1) {
                throw new IllegalStateException("bench set-up expected one lockdep report");
            }
        }

        @TearDown(Level.Trial)
        public void close() {
            kernel.close();
        }
    }

    public static class VerdictsOn extends VerdictState {
        @Override
        boolean verdicts() {
            return true;
        }
    }

    public static class VerdictsOff extends VerdictState {
        @Override
        boolean verdicts() {
            return false;
        }
    }

    private final ReentrantLock reentrantLock = new ReentrantLock();
    private final Object monitor = new Object();
    private long counter;

    @Benchmark
    public long mutexLockUnlockLockdepOff(LockdepOff s) {
        s.mutex.mutexLock();
        long v = ++counter;
        s.mutex.mutexUnlock();
        return v;
    }

    @Benchmark
    public long mutexLockUnlockLockdepOn(LockdepOn s) {
        s.mutex.mutexLock();
        long v = ++counter;
        s.mutex.mutexUnlock();
        return v;
    }

    @Benchmark
    public long rwsemReadLockUnlock(LockdepOn s) {
        s.rwsem.downRead();
        long v = ++counter;
        s.rwsem.upRead();
        return v;
    }

    @Benchmark
    public long mutexLockUnlockVerdictsOn(VerdictsOn s) {
        return lockUnlock(s);
    }

    @Benchmark
    public long mutexLockUnlockVerdictsOff(VerdictsOff s) {
        return lockUnlock(s);
    }

    private long lockUnlock(VerdictState s) {
        s.mutex.mutexLock();
        long v = ++counter;
        s.mutex.mutexUnlock();
        return v;
    }

    /** kswapd-style: fs_reclaim held, so the acquisition is "taken in reclaim". */
    @Benchmark
    public long mutexInReclaimVerdictsOn(VerdictsOn s) {
        return inReclaim(s);
    }

    @Benchmark
    public long mutexInReclaimVerdictsOff(VerdictsOff s) {
        return inReclaim(s);
    }

    private long inReclaim(VerdictState s) {
        Lockdep ld = s.kernel.lockdep();
        ld.kswapdReclaimEnter(s.task);
        s.mutex.mutexLock();
        long v = ++counter;
        s.mutex.mutexUnlock();
        ld.kswapdReclaimExit(s.task);
        return v;
    }

    /** A class in a report, taken under the other class of its cycle: one instance pair looked up per op. */
    @Benchmark
    public long watchedLockUnlockVerdictsOn(VerdictsOn s) {
        return watched(s);
    }

    @Benchmark
    public long watchedLockUnlockVerdictsOff(VerdictsOff s) {
        return watched(s);
    }

    private long watched(VerdictState s) {
        s.outer.mutexLock();
        s.watched.mutexLock();
        long v = ++counter;
        s.watched.mutexUnlock();
        s.outer.mutexUnlock();
        return v;
    }

    /** might_alloc with a lock held: fs_reclaim acquire/release, plus the held lock recorded as above reclaim. */
    @Benchmark
    public long allocHookWithLockHeldVerdictsOn(VerdictsOn s) {
        return allocHook(s);
    }

    @Benchmark
    public long allocHookWithLockHeldVerdictsOff(VerdictsOff s) {
        return allocHook(s);
    }

    private long allocHook(VerdictState s) {
        s.mutex.mutexLock();
        s.kernel.lockdep().reclaimAllocHook(s.task, Gfp.GFP_KERNEL);
        long v = ++counter;
        s.mutex.mutexUnlock();
        return v;
    }

    @Benchmark
    public long reentrantLockLockUnlock() {
        reentrantLock.lock();
        try {
            return ++counter;
        } finally {
            reentrantLock.unlock();
        }
    }

    @Benchmark
    public long synchronizedBlock() {
        synchronized (monitor) {
            return ++counter;
        }
    }
}
