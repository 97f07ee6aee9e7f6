package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The tasks holding an rwsem for read, every one of them, so the watchdog can name all the readers a writer
 * waits for and up_read() can refuse a task that holds nothing. A slot table claimed with one CAS; when it
 * is full a grower seals each old slot (swapping in {@link #MOVED}) and copies the holders to a table twice
 * the size, so no claim or release is lost across the move. A task holding the lock twice has two slots.
 */
final class RwsemReaders {
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(Object[].class);
    private static final int INITIAL = 16;
    /** A sealed slot of a table being replaced: look in the new table. */
    private static final Object MOVED = new Object();

    private volatile Object[] slots = new Object[INITIAL];
    private final RawSpinLock growLock = new RawSpinLock("rwsem readers grow");

    void add(Task t) {
        for (;;) {
            Object[] s = slots;
            int n = s.length;
            int start = t.pid() & (n - 1);
            for (int i = 0; i < n; i++) {
                int k = (start + i) & (n - 1);
                if (SLOT.getOpaque(s, k) == null && SLOT.compareAndSet(s, k, null, t)) {
                    return;
                }
            }
            grow(s);
        }
    }

    /** Releases one slot of {@code t}; false if {@code t} holds none. */
    boolean remove(Task t) {
        for (;;) {
            Object[] s = slots;
            int n = s.length;
            int start = t.pid() & (n - 1);
            boolean sealed = false;
            for (int i = 0; i < n; i++) {
                int k = (start + i) & (n - 1);
                Object v = SLOT.getVolatile(s, k);
                if (v == t && SLOT.compareAndSet(s, k, t, null)) {
                    return true;
                }
                if (v == MOVED || (v == t && SLOT.getVolatile(s, k) == MOVED)) {
                    sealed = true;
                }
            }
            if (!sealed && slots == s) {
                return false;
            }
            // A grower sealed this table: wait for the new one, then look there.
            while (slots == s) {
                Thread.onSpinWait();
            }
        }
    }

    private void grow(Object[] old) {
        growLock.lock();
        try {
            if (slots != old) {
                return;
            }
            Object[] bigger = new Object[old.length * 2];
            for (int k = 0; k < old.length; k++) {
                Object v = SLOT.getAndSet(old, k, MOVED);
                if (v != null) {
                    int j = ((Task) v).pid() & (bigger.length - 1);
                    while (bigger[j] != null) {
                        j = (j + 1) & (bigger.length - 1);
                    }
                    bigger[j] = v;
                }
            }
            slots = bigger;
        } finally {
            growLock.unlock();
        }
    }

    /** Adds every reader to {@code out} (racy, as the watchdog reads it). */
    void addTo(WakerSink out) {
        Object[] s = slots;
        for (int k = 0; k < s.length; k++) {
            Object v = SLOT.getVolatile(s, k);
            if (v != null && v != MOVED) {
                out.add((Task) v);
            }
        }
    }
}
