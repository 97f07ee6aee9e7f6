package dev.reclaimlab.fs.buffer;

import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Sleep;
import dev.reclaimlab.locking.WaitKind;
import dev.reclaimlab.locking.WaitList;
import dev.reclaimlab.locking.Waitable;
import dev.reclaimlab.locking.WakerSink;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * sb->s_lock and sb->s_wait with lock_super(), unlock_super() and wait_on_super() as in Linux 2.2
 * (include/linux/locks.h, fs/super.c __wait_on_super()): a flag and a wait queue, not a semaphore, and not
 * recursive, so a holder that calls lock_super() again sleeps on itself. 2.2 made test-and-set safe by the
 * big kernel lock and a non-preemptive kernel; here it is one compare-and-set. 2.2 recorded no owner: this
 * one does, so the watchdog can name who ends a wait on it (a departure that changes no behaviour).
 */
public final class LockSuper implements Waitable {
    private static final VarHandle OWNER;

    static {
        try {
            OWNER = MethodHandles.lookup().findVarHandle(LockSuper.class, "owner", Task.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String name;
    private volatile Task owner;
    private final WaitList sWait = new WaitList();
    private final java.util.concurrent.atomic.AtomicLong contended = new java.util.concurrent.atomic.AtomicLong();

    public LockSuper(String devName) {
        this.name = "s_lock of " + devName;
    }

    @Override
    public String name() {
        return name;
    }

    /** lock_super(): if (sb->s_lock) __wait_on_super(sb); sb->s_lock = 1. */
    public void lockSuper() {
        Task t = Task.current();
        t.mightSleep("lock_super");
        if (OWNER.compareAndSet(this, null, t)) {
            return;
        }
        contended.incrementAndGet();
        Sleep.sleep(t, this, WaitKind.WAITQUEUE, Task.TASK_UNINTERRUPTIBLE, -1, sWait,
                () -> OWNER.compareAndSet(this, null, t));
    }

    /** unlock_super(): sb->s_lock = 0; wake_up(&sb->s_wait). */
    public void unlockSuper() {
        Task t = Task.current();
        if (owner != t) {
            throw new IllegalStateException("unlock_super(" + name + ") by " + t + ": "
                    + (owner == null ? "it is not locked" : "it is locked by " + owner));
        }
        OWNER.setVolatile(this, null);
        sWait.wakeAll();
    }

    /** wait_on_super(): sleeps while somebody holds it, without taking it. */
    public void waitOnSuper() {
        if (owner == null) {
            return;
        }
        Task t = Task.current();
        t.mightSleep("wait_on_super");
        Sleep.sleep(t, this, WaitKind.WAITQUEUE, Task.TASK_UNINTERRUPTIBLE, -1, sWait, () -> owner == null);
    }

    public boolean isLocked() {
        return owner != null;
    }

    public Task owner() {
        return owner;
    }

    /** Acquisitions that had to sleep. */
    public long contended() {
        return contended.get();
    }

    @Override
    public void wakers(WakerSink out) {
        out.add(owner);
    }

    @Override
    public String toString() {
        Task o = owner;
        return name + (o == null ? " free" : " held by " + o);
    }
}
