package dev.reclaimlab.bench;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelConfig;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.Mutex;
import dev.reclaimlab.locking.RwSemaphore;
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
