package dev.reclaimlab.locking;

/** What kind of primitive a task waits on; reports print the label. */
public enum WaitKind {
    MUTEX("mutex"),
    RWSEM_READ("rwsem-read"),
    RWSEM_WRITE("rwsem-write"),
    SPINLOCK("spinlock"),
    /** raw_spinlock_t of the allocator (zone->lock, list_lock): a spinning wait. */
    RAW_SPINLOCK("raw-spinlock"),
    /** bit_spin_lock() (SLUB's slab_lock): a spinning wait. */
    BIT_SPINLOCK("bit-spinlock"),
    /** Taking an emulated CPU (preempt_disable() when every CPU is held): a spinning wait. */
    CPU("cpu"),
    COMPLETION("completion"),
    WAITQUEUE("waitqueue"),
    /** wait_on_bit() and wait_on_page_bit(): a bit in a word, on a hashed wait queue. */
    BIT("bit"),
    /** A timed sleep in a throttle (congestion_wait, balance_dirty_pages): the task will run again. */
    THROTTLE("throttle"),
    /** TASK_INTERRUPTIBLE idling for work (kswapd, a flusher, a worker): neither blocked nor busy. */
    IDLE("idle");

    private final String label;

    WaitKind(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    /** Whether a task waiting here waits for another task to act (not idle, not a throttle). */
    public boolean blocks() {
        return this != THROTTLE && this != IDLE;
    }

    /** Whether the waiter spins on a CPU rather than sleeping. */
    public boolean spins() {
        return this == SPINLOCK || this == RAW_SPINLOCK || this == BIT_SPINLOCK || this == CPU;
    }
}
