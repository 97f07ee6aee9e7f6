package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * spinlock_t (kernel/locking/spinlock.c): busy-waits with preemption disabled, i.e. while holding an
 * emulated CPU, so sleeping under it fails with "scheduling while atomic". A spinner publishes a wait
 * record (see {@link Sleep#spin}), so a spin deadlock shows up in the watchdog's wait-for graph like a
 * sleeping one.
 */
public final class SpinLock implements Lockable {
    private static final VarHandle OWNER;

    static {
        try {
            OWNER = MethodHandles.lookup().findVarHandle(SpinLock.class, "owner", Task.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final LockdepMap depMap;
    private volatile Task owner;

    /** spin_lock_init() with a static class key. */
    public SpinLock(String name, LockClassKey key) {
        this.depMap = new LockdepMap(name, key);
    }

    @Override
    public LockdepMap depMap() {
        return depMap;
    }

    /** spin_lock(). */
    public void spinLock() {
        Task t = Task.current();
        t.getCpu();
        Lockdep ld = t.kernel().lockdep();
        if (ld.enabled()) {
            ld.lockAcquire(t, depMap, 0, Lockdep.WRITE, false);
        }
        if (OWNER.compareAndSet(this, null, t)) {
            return;
        }
        boolean acquired = false;
        try {
            Sleep.spin(t, this, WaitKind.SPINLOCK, new Sleep.SpinCondition() {
                @Override
                public boolean looksFree() {
                    return owner == null;
                }

                @Override
                public boolean tryAcquire() {
                    return OWNER.compareAndSet(SpinLock.this, null, t);
                }
            });
            acquired = true;
        } finally {
            if (!acquired) {
                if (ld.enabled()) {
                    ld.lockRelease(t, depMap);
                }
                t.putCpu();
            }
        }
    }

    /** spin_trylock(). */
    public boolean spinTrylock() {
        Task t = Task.current();
        t.getCpu();
        if (!OWNER.compareAndSet(this, null, t)) {
            t.putCpu();
            return false;
        }
        Lockdep ld = t.kernel().lockdep();
        if (ld.enabled()) {
            ld.lockAcquire(t, depMap, 0, Lockdep.WRITE, true);
        }
        return true;
    }

    /** spin_unlock(). */
    public void spinUnlock() {
        Task o = owner;
        if (o == null || o.thread() != Thread.currentThread()) {
            throw new IllegalStateException("spinUnlock of spinlock " + depMap + " by thread '"
                    + Thread.currentThread().getName() + "': " + (o == null ? "it is not locked"
                    : "it is owned by " + o));
        }
        Lockdep ld = o.kernel().lockdep();
        if (ld.enabled()) {
            ld.lockRelease(o, depMap);
        }
        OWNER.setVolatile(this, null);
        o.putCpu();
    }

    public boolean spinIsLocked() {
        return owner != null;
    }

    /** Destroying a held spinlock is a bug. */
    public void destroy() {
        Task o = owner;
        if (o != null) {
            throw new IllegalStateException("destroy of held spinlock " + depMap + ", owned by " + o);
        }
    }

    @Override
    public void wakers(WakerSink out) {
        out.add(owner);
    }

    @Override
    public String toString() {
        Task o = owner;
        return "spinlock " + depMap + (o != null ? " owned by " + o : " unlocked");
    }
}
