package dev.reclaimlab.mm;

/**
 * struct shrinker (include/linux/shrinker.h): a cache that reclaim can ask to give objects back.
 * countObjects() says how many are freeable, scanObjects() frees up to sc.nrToScan of them and returns how
 * many it freed, or {@link #SHRINK_STOP} when it cannot make progress in this context.
 */
public interface Shrinker {
    long SHRINK_STOP = ~0L;
    /** count_objects() has nothing and need not be asked again for this pass. */
    long SHRINK_EMPTY = ~0L - 1;
    int DEFAULT_SEEKS = 2;
    int SHRINK_BATCH = 128;

    /** The name /sys/kernel/debug/shrinker shows, e.g. "super_cache_scan-xfs". */
    String name();

    long countObjects(ShrinkControl sc);

    long scanObjects(ShrinkControl sc);

    /** How costly an object is to recreate; 0 means "scan half of what is freeable". */
    default int seeks() {
        return DEFAULT_SEEKS;
    }

    default long batch() {
        return SHRINK_BATCH;
    }
}
