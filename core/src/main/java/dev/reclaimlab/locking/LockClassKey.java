package dev.reclaimlab.locking;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * struct lock_class_key (include/linux/lockdep.h): the static identity of a kind of lock, e.g.
 * {@code XFS_ILOCK}. Declare one per kind in a static final field. The identity is global; what lockdep
 * learns about the class (its dependencies) lives per kernel.
 */
public final class LockClassKey {
    private static final AtomicInteger NEXT_ID = new AtomicInteger();

    private final String name;
    private final int id;

    public LockClassKey(String name) {
        this.name = Objects.requireNonNull(name, "lock class name");
        this.id = NEXT_ID.getAndIncrement();
    }

    public String name() {
        return name;
    }

    /** Dense global index, used by each kernel's lockdep to find its per-kernel class data. */
    int id() {
        return id;
    }

    @Override
    public String toString() {
        return name;
    }
}
