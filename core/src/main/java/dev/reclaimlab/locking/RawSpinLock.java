package dev.reclaimlab.locking;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * raw_spinlock_t: a test-and-test-and-set lock for the allocator's own short critical sections
 * (zone->lock, kmem_cache_node::list_lock). Not seen by lockdep or the watchdog: like the kernel's raw
 * locks it is never held across anything that sleeps, so it can be part of no reclaim deadlock.
 */
public final class RawSpinLock {
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(RawSpinLock.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String name;
    @SuppressWarnings("unused")
    private volatile int state;

    public RawSpinLock(String name) {
        this.name = name;
    }

    public void lock() {
        if (!STATE.compareAndSet(this, 0, 1)) {
            lockSlow();
        }
    }

    private void lockSlow() {
        for (int spins = 0; ; spins++) {
            if ((int) STATE.getOpaque(this) == 0 && STATE.compareAndSet(this, 0, 1)) {
                return;
            }
            if (spins < 128) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }

    public boolean tryLock() {
        return STATE.compareAndSet(this, 0, 1);
    }

    public void unlock() {
        if ((int) STATE.getOpaque(this) != 1) {
            throw new IllegalStateException("raw_spin_unlock(" + name + "): lock is not held");
        }
        STATE.setRelease(this, 0);
    }

    public boolean isLocked() {
        return (int) STATE.getVolatile(this) != 0;
    }

    @Override
    public String toString() {
        return name;
    }
}
