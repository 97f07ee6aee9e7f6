package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * struct rw_semaphore (kernel/locking/rwsem.c): many readers or one writer, sleeping uninterruptibly.
 * Unlike the kernel's, a reader is not held back by a waiting writer: the emulator's deadlocks come from
 * reclaim recursion, not from rwsem fairness. Readers are tracked in a small slot table so the watchdog
 * can name every reader a writer waits for.
 */
public final class RwSemaphore implements Lockable {
    private static final int READER_SLOTS = 16;
    private static final VarHandle COUNT;
    private static final VarHandle OVERFLOW;
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(Task[].class);

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            COUNT = l.findVarHandle(RwSemaphore.class, "count", int.class);
            OVERFLOW = l.findVarHandle(RwSemaphore.class, "overflowReaders", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final LockdepMap depMap;
    /** Readers holding it, or -1 while a writer holds it. */
    private volatile int count;
    private volatile Task writer;
    private final Task[] readers = new Task[READER_SLOTS];
    /** Readers that found no free slot; they are not named to the watchdog. */
    private volatile int overflowReaders;
    private final ConcurrentLinkedQueue<Task> waiters = new ConcurrentLinkedQueue<>();

    /** init_rwsem() with a static class key. */
    public RwSemaphore(String name, LockClassKey key) {
        this.depMap = new LockdepMap(name, key);
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
        Task t = Task.current();
        Lockdep ld = t.kernel().lockdep();
        if (ld.enabled()) {
            ld.lockAcquire(t, depMap, subclass, true, false);
        }
        if (!tryRead(t)) {
            sleep(t, ld, WaitKind.RWSEM_READ);
        }
    }

    /** down_read_trylock(). */
    public boolean downReadTrylock() {
        Task t = Task.current();
        if (!tryRead(t)) {
            return false;
        }
        Lockdep ld = t.kernel().lockdep();
        if (ld.enabled()) {
            ld.lockAcquire(t, depMap, 0, true, true);
        }
        return true;
    }

    /** down_write(). */
    public void downWrite() {
        downWriteNested(0);
    }

    /** down_write_nested(). */
    public void downWriteNested(int subclass) {
        Task t = Task.current();
        Lockdep ld = t.kernel().lockdep();
        if (ld.enabled()) {
            ld.lockAcquire(t, depMap, subclass, false, false);
        }
        if (!tryWrite(t)) {
            sleep(t, ld, WaitKind.RWSEM_WRITE);
        }
    }

    /** down_write_trylock(). */
    public boolean downWriteTrylock() {
        Task t = Task.current();
        if (!tryWrite(t)) {
            return false;
        }
        Lockdep ld = t.kernel().lockdep();
        if (ld.enabled()) {
            ld.lockAcquire(t, depMap, 0, false, true);
        }
        return true;
    }

    /** up_read(): the caller must hold it for read. */
    public void upRead() {
        Task t = Task.current();
        if (count <= 0 || !removeReader(t)) {
            throw new IllegalStateException("upRead of rwsem " + depMap + " by " + t + ": not held for read by it"
                    + describeOwners());
        }
        Lockdep ld = t.kernel().lockdep();
        if (ld.enabled()) {
            ld.lockRelease(t, depMap);
        }
        if ((int) COUNT.getAndAdd(this, -1) == 1) {
            wakeAll();
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
        count = 0;
        wakeAll();
    }

    /** downgrade_write(): the writer becomes a reader without letting another writer in. */
    public void downgradeWrite() {
        Task t = checkWriter("downgradeWrite");
        Lockdep ld = t.kernel().lockdep();
        if (ld.enabled()) {
            ld.lockDowngrade(t, depMap);
        }
        addReader(t);
        writer = null;
        count = 1;
        wakeAll();
    }

    /** Destroying a held rwsem is a bug. */
    public void destroy() {
        if (count != 0) {
            throw new IllegalStateException("destroy of held rwsem " + depMap + describeOwners());
        }
    }

    public Task writer() {
        return writer;
    }

    public int readerCount() {
        return Math.max(0, count);
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
        int c = count;
        return c > 0 ? "; read-owned by " + c + " readers" : "; it is not locked";
    }

    private boolean tryRead(Task t) {
        for (;;) {
            int c = count;
            if (c < 0) {
                return false;
            }
            if (COUNT.compareAndSet(this, c, c + 1)) {
                addReader(t);
                return true;
            }
        }
    }

    private boolean tryWrite(Task t) {
        if (COUNT.compareAndSet(this, 0, -1)) {
            writer = t;
            return true;
        }
        return false;
    }

    private void addReader(Task t) {
        int start = t.pid() & (READER_SLOTS - 1);
        for (int i = 0; i < READER_SLOTS; i++) {
            if (SLOT.compareAndSet(readers, (start + i) & (READER_SLOTS - 1), null, t)) {
                return;
            }
        }
        OVERFLOW.getAndAdd(this, 1);
    }

    private boolean removeReader(Task t) {
        int start = t.pid() & (READER_SLOTS - 1);
        for (int i = 0; i < READER_SLOTS; i++) {
            int s = (start + i) & (READER_SLOTS - 1);
            if (SLOT.getVolatile(readers, s) == t) {
                SLOT.setVolatile(readers, s, null);
                return true;
            }
        }
        for (;;) {
            int o = overflowReaders;
            if (o == 0) {
                return false;
            }
            if (OVERFLOW.compareAndSet(this, o, o - 1)) {
                return true;
            }
        }
    }

    private void sleep(Task t, Lockdep ld, WaitKind kind) {
        WaitRecord rec = t.waitRecord();
        rec.publish(this, kind);
        waiters.add(t);
        boolean acquired = false;
        try {
            for (;;) {
                t.setState(Task.TASK_UNINTERRUPTIBLE);
                rec.beginUpdate();
                acquired = kind == WaitKind.RWSEM_READ ? tryRead(t) : tryWrite(t);
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

    private void wakeAll() {
        if (waiters.isEmpty()) {
            return;
        }
        for (Task w : waiters) {
            w.wakeUpProcess();
        }
    }

    /** The writer, or every tracked reader: who a waiter here waits for. */
    @Override
    public void addWakers(List<Task> out) {
        Task w = writer;
        if (w != null) {
            out.add(w);
        }
        for (int i = 0; i < READER_SLOTS; i++) {
            Task r = (Task) SLOT.getVolatile(readers, i);
            if (r != null && !out.contains(r)) {
                out.add(r);
            }
        }
    }

    @Override
    public String toString() {
        return "rwsem " + depMap + describeOwners();
    }
}
