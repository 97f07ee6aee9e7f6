package dev.reclaimlab.kernel;

import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.Mutex;
import dev.reclaimlab.locking.SpinLock;

import java.util.BitSet;

/**
 * kernel/workqueue.c's globals for one kernel, as in Linux 4.3: the per-CPU pools (cpu_worker_pools,
 * ids cpu*2 and cpu*2+1 as init_workqueues() assigns them), the unbound pools shared by workqueues with
 * equal attributes (unbound_pool_hash; the only attribute the emulator's queues differ in is the nice
 * level, i.e. WQ_HIGHPRI), the pool ids (worker_pool_idr), wq_pool_mutex and wq_mayday_lock.
 *
 * <p>The kernel creates every per-CPU pool's first worker at boot and the standard unbound pool for
 * events_unbound right after; the emulator does both when the first workqueue needs them, so a kernel that
 * never uses a workqueue has no kworker threads. Every pool's workers, the rescuers and ksoftirqd go down
 * after every other kthread in Kernel.close() (the kernel's never stop), so kswapd or a workload finishing
 * its last IO still has the workers that complete it. The standard unbound pool keeps
 * the id events_unbound gives it (2 * nr_cpus) and, held by events_unbound in the kernel, is never
 * destroyed.
 */
final class Workqueues {
    private static final LockClassKey WQ_MAYDAY_LOCK = new LockClassKey("wq_mayday_lock");
    private static final LockClassKey WQ_POOL_MUTEX = new LockClassKey("wq_pool_mutex");

    private final Kernel kernel;
    /** wq_mayday_lock: every workqueue's maydays list; nests inside a pool lock. */
    final SpinLock maydayLock = new SpinLock("wq_mayday_lock", WQ_MAYDAY_LOCK);
    private final Mutex poolMutex = new Mutex("wq_pool_mutex", WQ_POOL_MUTEX);
    private final WorkerPool[] cpuPools;
    private boolean cpuPoolsOnline;
    /** unbound_pool_hash: [0] normal, [1] highpri. */
    private final WorkerPool[] unboundPools = new WorkerPool[2];
    private final BitSet poolIds = new BitSet();
    /** IDLE_WORKER_TIMEOUT; tests shorten it. */
    volatile long idleWorkerTimeoutNanos = WorkerPool.IDLE_WORKER_TIMEOUT;

    Workqueues(Kernel kernel) {
        this.kernel = kernel;
        int n = kernel.config().nrCpus();
        this.cpuPools = new WorkerPool[2 * n];
        poolIds.set(0, 2 * n + 1);
    }

    /** The per-CPU pool of {@code cpu}, its first workers started as at boot. */
    WorkerPool cpuPool(int cpu, boolean highpri) {
        poolMutex.mutexLock();
        try {
            if (!cpuPoolsOnline) {
                for (int c = 0; c < cpuPools.length / 2; c++) {
                    for (int hi = 0; hi < 2; hi++) {
                        WorkerPool p = new WorkerPool(kernel, this, c * 2 + hi, c, hi == 1);
                        firstWorker(p);
                        cpuPools[c * 2 + hi] = p;
                    }
                }
                cpuPoolsOnline = true;
                kernel.timers().start();
            }
        } finally {
            poolMutex.mutexUnlock();
        }
        return cpuPools[cpu * 2 + (highpri ? 1 : 0)];
    }

    /** get_unbound_pool(): the shared pool with these attributes, created with one worker if new. */
    WorkerPool getUnboundPool(boolean highpri) {
        poolMutex.mutexLock();
        try {
            int key = highpri ? 1 : 0;
            WorkerPool p = unboundPools[key];
            if (p == null) {
                int id = highpri ? poolIds.nextClearBit(0) : cpuPools.length;
                poolIds.set(id);
                p = new WorkerPool(kernel, this, id, -1, highpri);
                p.refcnt = highpri ? 0 : 1;
                try {
                    firstWorker(p);
                } catch (RuntimeException e) {
                    if (highpri) {
                        poolIds.clear(id);
                    }
                    throw e;
                }
                unboundPools[key] = p;
                kernel.timers().start();
            }
            p.refcnt++;
            return p;
        } finally {
            poolMutex.mutexUnlock();
        }
    }

    /** put_unbound_pool(): the last user of a pool is gone; it is destroyed with its workers. */
    void putUnboundPool(WorkerPool p) {
        boolean destroy;
        poolMutex.mutexLock();
        try {
            destroy = --p.refcnt == 0;
            if (destroy) {
                unboundPools[p.highpri() ? 1 : 0] = null;
                poolIds.clear(p.id());
            }
        } finally {
            poolMutex.mutexUnlock();
        }
        if (destroy) {
            p.destroyPool();
        }
    }

    private static void firstWorker(WorkerPool p) {
        if (p.createWorker() == null) {
            throw new IllegalStateException("workqueue: cannot create the first worker of pool " + p.id()
                    + ": -ENOMEM or the kernel is closing");
        }
    }
}
