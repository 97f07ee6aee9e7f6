package dev.reclaimlab.locking;

/** A lock lockdep tracks: it carries a {@link LockdepMap}, as kernel locks carry a dep_map. */
public interface Lockable extends Waitable {
    LockdepMap depMap();

    /** lockdep_set_class(): moves this lock to another class, e.g. a separate class for reclaimable inodes. */
    default void lockdepSetClass(LockClassKey key) {
        depMap().setClass(key);
    }

    /** For verdicts only: the object this lock guards changed owner; see {@link LockdepMap#newInstance()}. */
    default void verdictNewInstance() {
        depMap().newInstance();
    }

    @Override
    default String name() {
        return depMap().name();
    }
}
