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
 * struct semaphore as Linux 2.2.0 and 2.2.1 had it (include/asm-i386/semaphore.h, kernel/sched.c): a
 * sleeping lock that its owner may take again, Linus's answer to the single-task i_sem recursion of
 * January 1999 (a writer holding i_sem whose own reclaim swaps out a shared page of the same file). Another
 * task sleeps in D state until the owner's last up(). Used for inode->i_sem; lockdep does not know it
 * (lockdep arrived in 2.6.18).
 */
public final class Semaphore22 implements Waitable {
    private static final VarHandle OWNER;

    static {
        try {
            OWNER = MethodHandles.lookup().findVarHandle(Semaphore22.class, "owner", Task.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String name;
    private volatile Task owner;
    // Written by the owner only.
    private int depth;
    private final WaitList waiters = new WaitList();

    public Semaphore22(String name) {
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    /** down(): taken again by its owner (2.2.1's recursion), or sleeps in D state until free. */
    public void down() {
        Task t = Task.current();
        t.mightSleep("down");
        if (owner == t) {
            depth++;
            return;
        }
        if (!OWNER.compareAndSet(this, null, t)) {
            Sleep.sleep(t, this, WaitKind.MUTEX, Task.TASK_UNINTERRUPTIBLE, -1, waiters,
                    () -> OWNER.compareAndSet(this, null, t));
        }
        depth = 1;
    }

    /** down_trylock(): 0 when taken (or taken again), 1 when another task holds it. */
    public int downTrylock() {
        Task t = Task.current();
        if (owner == t) {
            depth++;
            return 0;
        }
        if (OWNER.compareAndSet(this, null, t)) {
            depth = 1;
            return 0;
        }
        return 1;
    }

    /** up(): only the owner; the last of its nested ups releases the semaphore. */
    public void up() {
        Task t = Task.current();
        if (owner != t) {
            throw new IllegalStateException("up(" + name + ") by " + t + ": "
                    + (owner == null ? "it is not held" : "it is held by " + owner));
        }
        if (--depth > 0) {
            return;
        }
        OWNER.setVolatile(this, null);
        waiters.wakeAll();
    }

    public Task owner() {
        return owner;
    }

    /** How often the owner holds it (1 unless it recursed). */
    public int depth() {
        return owner == null ? 0 : depth;
    }

    @Override
    public void wakers(WakerSink out) {
        out.add(owner);
    }

    @Override
    public String toString() {
        Task o = owner;
        return "semaphore " + name + (o == null ? " free" : " held by " + o + " x" + depth);
    }
}
