package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.KernelConfig;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * struct lock_class_key (include/linux/lockdep.h): the static identity of a kind of lock. Declare one per
 * kind in a static final field, named as the kernel names the class: the stringified argument of
 * init_rwsem()/mutex_init() ({@code "&(&ip->i_iolock)->mr_lock"}) or of lockdep_set_class()
 * ({@code "&xfs_dir_ilock_class"}). Keys are global; what lockdep learns about a class (its number among
 * equal names, its usage, its dependencies) lives per kernel.
 *
 * <p>A kernel change that renamed a class without changing its identity is declared with
 * {@link #renamedBy}: the class prints the new name in kernels that have the change.
 */
public final class LockClassKey {
    private static final AtomicInteger NEXT_ID = new AtomicInteger();

    private final String name;
    private final int id;
    private final Fix renamedBy;
    private final String newName;

    public LockClassKey(String name) {
        this(name, null, null, NEXT_ID.getAndIncrement());
    }

    private LockClassKey(String name, Fix renamedBy, String newName, int id) {
        this.name = Objects.requireNonNull(name, "lock class name");
        if (name.isBlank()) {
            throw new IllegalArgumentException("LockClassKey: a lock class needs a name");
        }
        this.renamedBy = renamedBy;
        this.newName = newName;
        this.id = id;
    }

    /**
     * The same key, printed as {@code laterName} by kernels that have {@code fix} (e.g. a lock that became
     * another lock's class in a later release). Use it in the declaring initialiser only.
     */
    public LockClassKey renamedBy(Fix fix, String laterName) {
        Objects.requireNonNull(fix, "fix that renames " + name);
        Objects.requireNonNull(laterName, "later name of " + name);
        if (renamedBy != null) {
            throw new IllegalStateException("LockClassKey " + name + " is already renamed by " + renamedBy);
        }
        return new LockClassKey(name, fix, laterName, id);
    }

    /** The name as the oldest kernel with this key prints it. */
    public String name() {
        return name;
    }

    /** The name as a kernel booted with {@code config} prints it (without lockdep's #N and /N). */
    public String name(KernelConfig config) {
        return renamedBy != null && config.has(renamedBy) ? newName : name;
    }

    /** Dense global index, used by each kernel's lockdep to find its per-kernel class data. */
    int id() {
        return id;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LockClassKey && ((LockClassKey) o).id == id;
    }

    @Override
    public int hashCode() {
        return id;
    }

    @Override
    public String toString() {
        return name;
    }
}
