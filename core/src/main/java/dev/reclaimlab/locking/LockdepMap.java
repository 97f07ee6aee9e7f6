package dev.reclaimlab.locking;

import java.util.Objects;

/** struct lockdep_map: a lock instance's name and class as lockdep sees them. */
public final class LockdepMap {
    private final String name;
    private volatile LockClassKey key;

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

    public String className() {
        return key.name();
    }

    void setClass(LockClassKey k) {
        this.key = Objects.requireNonNull(k, "lock class key for " + name);
    }

    @Override
    public String toString() {
        return name + " (" + key.name() + ")";
    }
}
