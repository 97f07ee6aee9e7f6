package dev.reclaimlab.locking;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * struct lockdep_map: a lock instance's name and class as lockdep sees them, plus the instance identity
 * reclaimlab's verdicts count (see {@link Lockdep}): one per lock object, renewed by {@link #newInstance()}
 * when the object the lock guards changes hands in a way that matters for a verdict.
 */
public final class LockdepMap {
    private static final AtomicLong NEXT_INSTANCE = new AtomicLong(1);

    private final String name;
    private volatile LockClassKey key;
    private volatile long instance = NEXT_INSTANCE.getAndIncrement();

    public LockdepMap(String name, LockClassKey key) {
        this.name = Objects.requireNonNull(name, "lock name");
        this.key = Objects.requireNonNull(key, "lock class key of " + name);
    }

    public String name() {
        return name;
    }

    public LockClassKey key() {
        return key;
    }

    /** The class name as the oldest kernel with the key prints it; lockdep's reports use the booted version's. */
    public String className() {
        return key.name();
    }

    /** The instance identity verdicts count; never 0. */
    public long instance() {
        return instance;
    }

    /**
     * From now on this lock is a new instance for verdicts: the object it guards changed owner (an inode
     * that became reclaimable, or was recycled from the reclaim list), so uses before and after are not
     * uses of one object by two parties at once. lockdep's classes and dependencies are not affected.
     */
    public void newInstance() {
        instance = NEXT_INSTANCE.getAndIncrement();
    }

    void setClass(LockClassKey k) {
        this.key = Objects.requireNonNull(k, "lock class key for " + name);
    }

    @Override
    public String toString() {
        return name + " (" + key.name() + ")";
    }
}
