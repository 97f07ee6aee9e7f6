package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * raw_spinlock_t: a test-and-test-and-set lock for the allocator's own short critical sections
 * (zone->lock, kmem_cache_node::list_lock). Lockdep does not track it (the kernel's allocator locks are
 * never held across anything that sleeps), but a spinner that has to wait publishes a wait record naming
 * the holder, so the watchdog sees a spin deadlock on it too. The fast path is one CAS and a plain store
 * of the owning thread.
 */
public final class RawSpinLock implements Waitable {
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
    /** The holder's thread (set after the CAS, cleared before the release); a task is found from it. */
    private Thread holder;

    public RawSpinLock(String name) {
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    public void lock() {
        if (!STATE.compareAndSet(this, 0, 1)) {
            lockSlow();
        }
        holder = Thread.currentThread();
    }

    private void lockSlow() {
        Sleep.spin(Task.currentOrNull(), this, WaitKind.RAW_SPINLOCK, new Sleep.SpinCondition() {
            @Override
            public boolean looksFree() {
                return (int) STATE.getOpaque(RawSpinLock.this) == 0;
            }

            @Override
            public boolean tryAcquire() {
                return STATE.compareAndSet(RawSpinLock.this, 0, 1);
            }
        });
    }

    public boolean tryLock() {
        if (STATE.compareAndSet(this, 0, 1)) {
            holder = Thread.currentThread();
            return true;
        }
        return false;
    }

    public void unlock() {
        if ((int) STATE.getOpaque(this) != 1) {
            throw new IllegalStateException("raw_spin_unlock(" + name + "): lock is not held");
        }
        holder = null;
        STATE.setRelease(this, 0);
    }

    public boolean isLocked() {
        return (int) STATE.getVolatile(this) != 0;
    }

    /** The holder, if it is a task of the spinner's kernel. */
    @Override
    public void wakers(WakerSink out) {
        Thread h = holder;
        if (h != null) {
            out.add(out.waiter().kernel().taskOfThread(h));
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
