package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * struct rw_semaphore with the fairness of Linux 4.3's kernel/locking/rwsem-xadd.c: many readers or one
 * writer; once anyone waits, newcomers queue behind them in FIFO order (a reader does not pass a waiting
 * writer), and the task that releases the lock grants it to the front of the queue: one writer, or every
 * reader up to the first writer (__rwsem_do_wake()). Waits are uninterruptible (D). Every reader is named,
 * so a waiting writer's record says it waits for all of them, and for everyone queued ahead of it.
 */
public final class RwSemaphore implements Lockable {
    private static final long WRITER = 1L << 32;
    private static final long WAITERS = 1L << 33;
    private static final long READERS = 0xffff_ffffL;
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(RwSemaphore.class, "state", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final LockdepMap depMap;
    /** Readers holding it (low 32 bits), WRITER while a writer holds it, WAITERS while the queue is not empty. */
    private volatile long state;
    private volatile Task writer;
    private final RwsemReaders readers = new RwsemReaders();
    /** sem->wait_list: changed under waitLock, read by the watchdog without it. */
    private final ConcurrentLinkedDeque<Waiter> queue = new ConcurrentLinkedDeque<>();
    private final RawSpinLock waitLock;
    private final WaitList sleepers = new WaitList();

    /** init_rwsem() with a static class key. */
    public RwSemaphore(String name, LockClassKey key) {
        this.depMap = new LockdepMap(name, key);
        this.waitLock = new RawSpinLock(name + ".wait_lock");
    }

    @Override
    public LockdepMap depMap() {
        return depMap;
    }

    /** down_read(). */
    public void downRead() {
        downReadNested(0);
    }

    /** down_read_nested(). */
    public void downReadNested(int subclass) {
        acquire(false, subclass);
    }

    /** down_write(). */
    public void downWrite() {
        downWriteNested(0);
    }

    /** down_write_nested(). */
    public void downWriteNested(int subclass) {
        acquire(true, subclass);
    }

    /** down_read_trylock(): fails while a writer holds it or anyone waits. */
    public boolean downReadTrylock() {
        Task t = Task.current();
        if (!tryReadFast()) {
            return false;
        }
        readers.add(t);
        Lockdep ld = t.kernel().lockdep();
        if (ld.enabled()) {
            ld.lockAcquire(t, depMap, 0, Lockdep.READ, true);
        }
        return true;
    }

    /** down_write_trylock(). */
    public boolean downWriteTrylock() {
        Task t = Task.current();
        if (!STATE.compareAndSet(this, 0L, WRITER)) {
            return false;
        }
        writer = t;
        Lockdep ld = t.kernel().lockdep();
        if (ld.enabled()) {
            ld.lockAcquire(t, depMap, 0, Lockdep.WRITE, true);
        }
        return true;
    }

    private void acquire(boolean write, int subclass) {
        Task t = Task.current();
        t.mightSleep(write ? "down_write" : "down_read");
        Lockdep ld = t.kernel().lockdep();
        if (ld.enabled()) {
            ld.lockAcquire(t, depMap, subclass, write ? Lockdep.WRITE : Lockdep.READ, false);
        }
        if (write ? STATE.compareAndSet(this, 0L, WRITER) : tryReadFast()) {
            if (write) {
                writer = t;
            } else {
                readers.add(t);
            }
            return;
        }
        boolean got = false;
        try {
            got = slowpath(t, write);
        } finally {
            if (!got && ld.enabled()) {
                ld.lockRelease(t, depMap);
            }
        }
    }

    private boolean tryReadFast() {
        for (;;) {
            long s = state;
            if ((s & (WRITER | WAITERS)) != 0) {
                return false;
            }
            if (STATE.compareAndSet(this, s, s + 1)) {
                return true;
            }
        }
    }

    /** rwsem_down_read_failed() / rwsem_down_write_failed(): queue, then sleep until granted. */
    private boolean slowpath(Task t, boolean write) {
        Waiter w = new Waiter(t, write);
        waitLock.lock();
        try {
            queue.addLast(w);
            setBits(WAITERS);
            grantLocked();
        } finally {
            waitLock.unlock();
        }
        int r = Sleep.KILLED;
        try {
            r = Sleep.sleep(t, w, write ? WaitKind.RWSEM_WRITE : WaitKind.RWSEM_READ, Task.TASK_UNINTERRUPTIBLE, -1,
                    sleepers, () -> w.take());
            return true;
        } finally {
            if (r != Sleep.DONE) {
                cancel(w);
            }
        }
    }

    /** A waiter leaves without the lock (a panic unwinds it): undo a grant that raced, let the queue move. */
    private void cancel(Waiter w) {
        waitLock.lock();
        try {
            if (!w.granted) {
                queue.remove(w);
                if (queue.isEmpty()) {
                    clearBits(WAITERS);
                }
            } else if (w.write) {
                clearBits(WRITER);
            } else {
                addReaders(-1);
            }
            grantLocked();
        } finally {
            waitLock.unlock();
        }
    }

    /** __rwsem_do_wake(): grants the lock to the front of the queue if it can be had. waitLock held. */
    private void grantLocked() {
        Waiter front = queue.peekFirst();
        if (front == null) {
            return;
        }
        long s = state;
        if (front.write) {
            if ((s & (WRITER | READERS)) != 0) {
                return;
            }
            setBits(WRITER);
            queue.pollFirst();
            grant(front);
        } else {
            if ((s & WRITER) != 0) {
                return;
            }
            for (Waiter r = front; r != null && !r.write; r = queue.peekFirst()) {
                addReaders(1);
                queue.pollFirst();
                grant(r);
            }
        }
        if (queue.isEmpty()) {
            clearBits(WAITERS);
        }
    }

    /**
     * The lock is counted as the waiter's; it names itself owner when it runs ({@link Waiter#take()}), inside
     * its wait record's bracket, so the watchdog never sees a task waiting on a lock it holds.
     */
    private static void grant(Waiter w) {
        w.granted = true;
        w.task.wakeUpProcess();
    }

    /** up_read(): the caller must hold it for read. */
    public void upRead() {
        Task t = Task.current();
        if (!readers.remove(t)) {
            throw new IllegalStateException("upRead of rwsem " + depMap + " by " + t + ": not held for read by it"
                    + describeOwners());
        }
        Lockdep ld = t.kernel().lockdep();
        if (ld.enabled()) {
            ld.lockRelease(t, depMap);
        }
        long s = addReaders(-1);
        if ((s & READERS) == 0 && (s & WAITERS) != 0) {
            wake();
        }
    }

    /** up_write(): the caller must hold it for write. */
    public void upWrite() {
        Task t = checkWriter("upWrite");
        Lockdep ld = t.kernel().lockdep();
        if (ld.enabled()) {
            ld.lockRelease(t, depMap);
        }
        writer = null;
        if ((clearBits(WRITER) & WAITERS) != 0) {
            wake();
        }
    }

    /** downgrade_write(): the writer becomes a reader without letting another writer in. */
    public void downgradeWrite() {
        Task t = checkWriter("downgradeWrite");
        Lockdep ld = t.kernel().lockdep();
        if (ld.enabled()) {
            ld.lockDowngrade(t, depMap);
        }
        readers.add(t);
        long s;
        do {
            s = state;
        } while (!STATE.compareAndSet(this, s, (s & ~WRITER) + 1));
        writer = null;
        if ((s & WAITERS) != 0) {
            wake();
        }
    }

    private void wake() {
        waitLock.lock();
        try {
            grantLocked();
        } finally {
            waitLock.unlock();
        }
    }

    private long addReaders(int d) {
        for (;;) {
            long s = state;
            long n = s + d;
            if (STATE.compareAndSet(this, s, n)) {
                return n;
            }
        }
    }

    private void setBits(long bits) {
        for (;;) {
            long s = state;
            if (STATE.compareAndSet(this, s, s | bits)) {
                return;
            }
        }
    }

    /** Clears {@code bits}; returns the new state. */
    private long clearBits(long bits) {
        for (;;) {
            long s = state;
            if (STATE.compareAndSet(this, s, s & ~bits)) {
                return s & ~bits;
            }
        }
    }

    /** Destroying a held rwsem is a bug. */
    public void destroy() {
        if ((state & (WRITER | READERS)) != 0) {
            throw new IllegalStateException("destroy of held rwsem " + depMap + describeOwners());
        }
    }

    public Task writer() {
        return writer;
    }

    public int readerCount() {
        return (int) (state & READERS);
    }

    /** Tasks queued for the lock now (racy). */
    public int waiters() {
        return queue.size();
    }

    private Task checkWriter(String op) {
        Task w = writer;
        if (w == null || w.thread() != Thread.currentThread()) {
            throw new IllegalStateException(op + " of rwsem " + depMap + " by thread '"
                    + Thread.currentThread().getName() + "': not held for write by it" + describeOwners());
        }
        return w;
    }

    private String describeOwners() {
        Task w = writer;
        if (w != null) {
            return "; write-owned by " + w;
        }
        int c = readerCount();
        return c > 0 ? "; read-owned by " + c + (c == 1 ? " reader" : " readers") : "; it is not locked";
    }

    /** Who holds it now: the writer, or all of the readers. */
    private void holders(WakerSink out) {
        Task w = writer;
        if (w != null) {
            out.add(w);
        } else {
            readers.addTo(out);
            out.all();
        }
    }

    /** A task waiting here without a place in the queue is owed by the holders. */
    @Override
    public void wakers(WakerSink out) {
        holders(out);
    }

    @Override
    public String toString() {
        return "rwsem " + depMap + describeOwners();
    }

    /**
     * One queued task (struct rwsem_waiter). It waits for every holder to leave and for every task queued
     * ahead of it to take the lock and leave it: all of them must act.
     */
    private final class Waiter implements Lockable {
        final Task task;
        final boolean write;
        volatile boolean granted;

        Waiter(Task task, boolean write) {
            this.task = task;
            this.write = write;
        }

        /** The wait's condition, run by the waiter in its bracket: once granted, it names itself owner. */
        boolean take() {
            if (!granted) {
                return false;
            }
            if (write) {
                writer = task;
            } else {
                readers.add(task);
            }
            return true;
        }

        @Override
        public LockdepMap depMap() {
            return depMap;
        }

        @Override
        public void wakers(WakerSink out) {
            if (granted) {
                out.open("granted the lock, about to run");
                return;
            }
            holders(out);
            for (Waiter a : queue) {
                if (a == this) {
                    break;
                }
                out.add(a.task);
            }
            out.all();
        }

        @Override
        public String toString() {
            return (write ? "writer " : "reader ") + task + " queued on " + RwSemaphore.this;
        }
    }
}
