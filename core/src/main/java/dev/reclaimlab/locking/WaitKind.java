package dev.reclaimlab.locking;

/** What kind of primitive a task sleeps on; the watchdog prints it and treats THROTTLE as not blocked. */
public enum WaitKind {
    MUTEX("mutex"),
    RWSEM_READ("rwsem-read"),
    RWSEM_WRITE("rwsem-write"),
    SPINLOCK("spinlock"),
    COMPLETION("completion"),
    WAITQUEUE("waitqueue"),
    /** A timed sleep in a throttle (congestion_wait, balance_dirty_pages): the task will run again. */
    THROTTLE("throttle"),
    /** TASK_INTERRUPTIBLE idling for work (kswapd, a flusher): neither blocked nor busy. */
    IDLE("idle");

    private final String label;

    WaitKind(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    /** Whether a task sleeping on this kind is blocked until someone else acts (a hung-task candidate). */
    public boolean blocks() {
        return this != THROTTLE && this != IDLE;
    }
}
