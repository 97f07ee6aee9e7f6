package dev.reclaimlab.kernel;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The emulated CPUs. A task runs on CPU n while it holds slot n; holding it is the emulator's
 * preempt_disable(): per-CPU data (pcp page lists, SLUB's cpu slabs, vmstat diffs) is touched only by the
 * slot's holder, so the per-CPU fast paths need no lock and no atomic beyond the slot itself. Tasks
 * outnumber CPUs; a task that finds its last CPU busy migrates to a free one, as the scheduler would,
 * unless it is bound to that CPU (kthread_bind(), set_cpus_allowed_ptr()): then it waits for it.
 * A task never sleeps while it holds a slot (see {@link Task#getCpu()}).
 */
final class Cpus {
    private static final VarHandle SLOTS = MethodHandles.arrayElementVarHandle(long[].class);
    /** One slot per 128 bytes: neighbouring CPUs must not share a cache line. */
    static final int PAD = 16;
    private static final long FREE = 0;
    private static final long OFFLINE = -1;

    private final long[] slots;
    private final int nrCpus;

    Cpus(int nrCpus) {
        this.nrCpus = nrCpus;
        this.slots = new long[(nrCpus + 1) * PAD];
    }

    /** Whether a caller's CPU number is 0..nr_cpus-1. */
    boolean exists(int c) {
        return c >= 0 && c < nrCpus;
    }

    /** The refusal of a CPU number that does not {@link #exists}, naming {@code who} asked. */
    IllegalArgumentException noSuchCpu(int c, String who) {
        return new IllegalArgumentException(who + ": CPU" + c + " does not exist (nr_cpus " + nrCpus + ")");
    }

    int nrCpus() {
        return nrCpus;
    }

    /** One CAS for {@code preferred}: the fast path of get_cpu(). */
    boolean tryAcquire(int preferred, long pid) {
        return SLOTS.compareAndSet(slots, (preferred + 1) * PAD, FREE, pid);
    }

    /** Whether {@code cpu} (or, for -1, any CPU) is free now; throws once the kernel is closed. */
    boolean looksFree(int cpu, long pid) {
        for (int i = cpu < 0 ? 0 : cpu; i < (cpu < 0 ? nrCpus : cpu + 1); i++) {
            long v = (long) SLOTS.getVolatile(slots, (i + 1) * PAD);
            if (v == OFFLINE) {
                throw new IllegalStateException("kernel is closed: CPU" + i + " is offline (pid " + pid + ")");
            }
            if (v == FREE) {
                return true;
            }
        }
        return false;
    }

    /** Takes {@code cpu}, or for -1 any free CPU starting after {@code preferred}; the CPU or -1. */
    int tryAcquireAny(int cpu, int preferred, long pid) {
        if (cpu >= 0) {
            return SLOTS.compareAndSet(slots, (cpu + 1) * PAD, FREE, pid) ? cpu : -1;
        }
        for (int i = 1; i <= nrCpus; i++) {
            int c = (preferred + i) % nrCpus;
            if ((long) SLOTS.getVolatile(slots, (c + 1) * PAD) == FREE
                    && SLOTS.compareAndSet(slots, (c + 1) * PAD, FREE, pid)) {
                return c;
            }
        }
        return -1;
    }

    void release(int cpu) {
        SLOTS.setRelease(slots, (cpu + 1) * PAD, FREE);
    }

    /**
     * Takes every CPU offline for good; waits for their holders to leave. A CPU whose holder can no longer
     * give it back ({@code gone}: its thread ended, or it is the closing thread itself) is taken at once.
     * Used by Kernel.close(). Returns the CPUs taken from a holder that was gone.
     */
    int offlineAll(java.util.function.LongPredicate gone) {
        int taken = 0;
        for (int c = 0; c < nrCpus; c++) {
            int i = (c + 1) * PAD;
            for (int spins = 0; ; spins++) {
                long v = (long) SLOTS.getVolatile(slots, i);
                if (v == OFFLINE) {
                    break;
                }
                if (v == FREE ? SLOTS.compareAndSet(slots, i, FREE, OFFLINE)
                        : gone.test(v) && SLOTS.compareAndSet(slots, i, v, OFFLINE)) {
                    taken += v == FREE ? 0 : 1;
                    break;
                }
                if (spins > 64) {
                    Thread.yield();
                }
            }
        }
        return taken;
    }

    /** The pid holding CPU {@code c}, or 0. */
    long holder(int c) {
        long v = (long) SLOTS.getVolatile(slots, (c + 1) * PAD);
        return v == OFFLINE ? 0 : v;
    }
}
