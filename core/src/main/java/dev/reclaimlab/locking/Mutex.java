package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * struct mutex (kernel/locking/mutex.c): a sleeping lock with one owner. The fast path is one CAS on the
 * owner; a contended waiter sleeps uninterruptibly (D state) with a wait record naming the owner.
 */
public final class Mutex implements Lockable {
    private static final VarHandle OWNER;

    static {
        try {
            OWNER = MethodHandles.lookup().findVarHandle(Mutex.class, "owner", Task.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final LockdepMap depMap;
    private volatile Task owner;
    private final ConcurrentLinkedQueue<Task> waiters = new ConcurrentLinkedQueue<>();

    /** mutex_init() with a static class key. */
    public Mutex(String name, LockClassKey key) {
        this.depMap = new LockdepMap(name, key);
    }

    @Override
    public LockdepMap depMap() {
        return depMap;
    }

    /** mutex_lock(). */
    public void mutexLock() {
        mutexLockNested(0);
    }

    /** mutex_lock_nested(): {@code subclass} tells lockdep this is a deliberate nesting of the same class. */
    public void mutexLockNested(int subclass) {
        Task t = Task.current();
        Lockdep ld = t.kernel().lockdep();
        if (ld.enabled()) {
            ld.lockAcquire(t, depMap, subclass, false, false);
        }
        if (!OWNER.compareAndSet(this, null, t)) {
            mutexLockSlowpath(t, ld);
        }
    }

    /** mutex_trylock(): true if taken; lockdep puts it on the held stack without a dependency. */
    public boolean mutexTrylock() {
        Task t = Task.current();
        if (!OWNER.compareAndSet(this, null, t)) {
            return false;
        }
        Lockdep ld = t.kernel().lockdep();
        if (ld.enabled()) {
            ld.lockAcquire(t, depMap, 0, false, true);
        }
        return true;
    }

    private void mutexLockSlowpath(Task t, Lockdep ld) {
        // If t already owns the mutex this is a real self-deadlock: its wait record then names t itself.
        WaitRecord rec = t.waitRecord();
        rec.publish(this, WaitKind.MUTEX);
        waiters.add(t);
        boolean acquired = false;
        try {
            for (;;) {
                t.setState(Task.TASK_UNINTERRUPTIBLE);
                rec.beginUpdate();
                acquired = OWNER.compareAndSet(this, null, t);
                if (acquired) {
                    rec.clear();
                }
                rec.endUpdate();
                if (acquired) {
                    return;
                }
                t.schedule();
            }
        } finally {
            waiters.remove(t);
            t.setState(Task.TASK_RUNNING);
            if (!acquired) {
                rec.clear();
                if (ld.enabled()) {
                    ld.lockRelease(t, depMap);
                }
            }
        }
    }

    /** mutex_unlock(): only the owner may unlock; wakes the first waiter. */
    public void mutexUnlock() {
        Task o = owner;
        if (o == null || o.thread() != Thread.currentThread()) {
            throw new IllegalStateException("mutexUnlock of mutex " + depMap + " by thread '"
                    + Thread.currentThread().getName() + "': " + (o == null ? "it is not locked"
                    : "it is owned by " + o));
        }
        Lockdep ld = o.kernel().lockdep();
        if (ld.enabled()) {
            ld.lockRelease(o, depMap);
        }
        OWNER.setVolatile(this, null);
        if (!waiters.isEmpty()) {
            Task w = waiters.peek();
            if (w != null) {
                w.wakeUpProcess();
            }
        }
    }

    /** mutex_is_locked(). */
    public boolean mutexIsLocked() {
        return owner != null;
    }

    public Task owner() {
        return owner;
    }

    /** mutex_destroy(): destroying a held mutex is a bug. */
    public void mutexDestroy() {
        Task o = owner;
        if (o != null) {
            throw new IllegalStateException("mutexDestroy of held mutex " + depMap + ", owned by " + o);
        }
    }

    @Override
    public void addWakers(List<Task> out) {
        Task o = owner;
        if (o != null) {
            out.add(o);
        }
    }

    @Override
    public String toString() {
        Task o = owner;
        return "mutex " + depMap + (o != null ? " owned by " + o : " unlocked");
    }
}
