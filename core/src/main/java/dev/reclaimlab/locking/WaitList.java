package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;

import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The sleepers of one primitive (wait_queue_head_t's task list). A waiter adds itself before it tests its
 * condition and removes itself after, so a waker that changes the condition and then wakes the list
 * cannot miss it. Waking unparks; each sleeper rechecks its own condition.
 */
public final class WaitList {
    private final ConcurrentLinkedQueue<Task> tasks = new ConcurrentLinkedQueue<>();

    void add(Task t) {
        tasks.add(t);
    }

    void remove(Task t) {
        tasks.remove(t);
    }

    /** waitqueue_active(). */
    public boolean isEmpty() {
        return tasks.isEmpty();
    }

    /** wake_up_all(). */
    public void wakeAll() {
        if (tasks.isEmpty()) {
            return;
        }
        for (Task w : tasks) {
            w.wakeUpProcess();
        }
    }

    /** Wakes the longest sleeper (a mutex's handoff candidate). */
    public void wakeFirst() {
        if (tasks.isEmpty()) {
            return;
        }
        Task w = tasks.peek();
        if (w != null) {
            w.wakeUpProcess();
        }
    }
}
