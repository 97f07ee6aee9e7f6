package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * struct mutex (kernel/locking/mutex.c): a sleeping lock with one owner. The fast path is one CAS on the
 * owner; a contended waiter sleeps uninterruptibly (D state) with a wait record naming the owner. Every
 * acquisition, contended or not, is a might_sleep() point.
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
    private final WaitList waiters = new WaitList();

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
        lock(subclass, Task.TASK_UNINTERRUPTIBLE);
    }

    /** mutex_lock_killable(): 0, or -EINTR when a fatal signal ended the wait. */
    public int mutexLockKillable() {
        return lock(0, Task.TASK_KILLABLE) == Sleep.KILLED ? Sleep.KILLED : 0;
    }

    private int lock(int subclass, int state) {
        Task t = Task.current();
        t.mightSleep("mutex_lock");
        Lockdep ld = t.kernel().lockdep();
        if (ld.enabled()) {
            ld.lockAcquire(t, depMap, subclass, Lockdep.WRITE, false);
        }
        if (OWNER.compareAndSet(this, null, t)) {
            return Sleep.DONE;
        }
        // If t already owns the mutex this is a real self-deadlock: its wait record then names t itself.
        int r = Sleep.KILLED;
        try {
            r = Sleep.sleep(t, this, WaitKind.MUTEX, state, -1, waiters, () -> OWNER.compareAndSet(this, null, t));
            return r;
        } finally {
            if (r != Sleep.DONE) {
                if (ld.enabled()) {
                    ld.lockRelease(t, depMap);
                }
                // The wake-up this waiter may have taken goes to the next one.
                if (owner == null) {
                    waiters.wakeFirst();
                }
            }
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
            ld.lockAcquire(t, depMap, 0, Lockdep.WRITE, true);
        }
        return true;
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
        waiters.wakeFirst();
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
    public void wakers(WakerSink out) {
        out.add(owner);
    }

    @Override
    public String toString() {
        Task o = owner;
        return "mutex " + depMap + (o != null ? " owned by " + o : " unlocked");
    }
}
