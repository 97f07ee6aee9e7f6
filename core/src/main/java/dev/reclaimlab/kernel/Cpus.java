package dev.reclaimlab.kernel;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The emulated CPUs. A task runs on CPU n while it holds slot n; holding it is the emulator's
 * preempt_disable(): per-CPU data (pcp page lists, SLUB's cpu slabs, vmstat diffs) is touched only by the
 * slot's holder, so the per-CPU fast paths need no lock and no atomic beyond the slot itself. Tasks
 * outnumber CPUs; a task that finds its last CPU busy migrates to a free one, as the scheduler would.
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

    int nrCpus() {
        return nrCpus;
    }

    /** Takes a CPU for {@code pid}, trying {@code preferred} first. Spins while all are taken. */
    int acquire(int preferred, long pid) {
        if (SLOTS.compareAndSet(slots, (preferred + 1) * PAD, FREE, pid)) {
            return preferred;
        }
        return acquireSlow(preferred, pid);
    }

    private int acquireSlow(int preferred, long pid) {
        for (int spins = 0; ; spins++) {
            for (int i = 1; i <= nrCpus; i++) {
                int c = (preferred + i) % nrCpus;
                long v = (long) SLOTS.getVolatile(slots, (c + 1) * PAD);
                if (v == OFFLINE) {
                    throw new IllegalStateException("kernel is closed: CPU" + c + " is offline (pid " + pid + ")");
                }
                if (v == FREE && SLOTS.compareAndSet(slots, (c + 1) * PAD, FREE, pid)) {
                    return c;
                }
            }
            // The holder is inside a short non-preemptible section; let the host run it.
            if (spins < 64) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }

    /** Takes exactly {@code cpu}, waiting while another task holds it. */
    void acquireExact(int cpu, long pid) {
        for (int spins = 0; !SLOTS.compareAndSet(slots, (cpu + 1) * PAD, FREE, pid); spins++) {
            if ((long) SLOTS.getVolatile(slots, (cpu + 1) * PAD) == OFFLINE) {
                throw new IllegalStateException("kernel is closed: CPU" + cpu + " is offline (pid " + pid + ")");
            }
            if (spins < 64) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }

    void release(int cpu) {
        SLOTS.setRelease(slots, (cpu + 1) * PAD, FREE);
    }

    /** Takes every CPU offline for good; waits for their holders to leave. Used by Kernel.close(). */
    void offlineAll() {
        for (int c = 0; c < nrCpus; c++) {
            int spins = 0;
            while (!SLOTS.compareAndSet(slots, (c + 1) * PAD, FREE, OFFLINE)) {
                if ((long) SLOTS.getVolatile(slots, (c + 1) * PAD) == OFFLINE) {
                    break;
                }
                if (++spins > 64) {
                    Thread.yield();
                }
            }
        }
    }
}
