package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;

import java.util.ArrayList;
import java.util.List;

/**
 * One reading of who can end a wait (see {@link WakerSink}): the tasks, whether any one or all of them
 * must act, and, if someone outside them can end it, why. Immutable once read.
 */
public final class Wakers {
    /** How the tasks end the wait. */
    public enum Mode {
        /** Any one of the tasks can end it. */
        ANY,
        /** All of the tasks must act (an rwsem's readers). */
        ALL
    }

    private final List<Task> tasks;
    private final Mode mode;
    private final String open;

    private Wakers(List<Task> tasks, Mode mode, String open) {
        this.tasks = tasks;
        this.mode = mode;
        this.open = open;
    }

    public List<Task> tasks() {
        return tasks;
    }

    public Mode mode() {
        return mode;
    }

    /** Why someone outside {@link #tasks()} can end the wait, or null. */
    public String open() {
        return open;
    }

    /** Nobody is declared able to end the wait. */
    public boolean unknown() {
        return open == null && tasks.isEmpty() && mode == Mode.ANY;
    }

    /** Reads {@code w}'s wakers now. */
    public static Wakers of(Task waiter, Waitable w) {
        Collector c = new Collector(waiter);
        w.wakers(c);
        return c.build();
    }

    @Override
    public String toString() {
        if (unknown()) {
            return "(nobody declared)";
        }
        String s = mode == Mode.ALL ? "all of " + tasks : tasks.toString();
        return open == null ? s : s + " or " + open;
    }

    /** A {@link WakerSink} that builds a {@link Wakers}; reused by the reader between attempts. */
    static final class Collector implements WakerSink {
        private final Task waiter;
        private final List<Task> tasks = new ArrayList<>(2);
        private Mode mode = Mode.ANY;
        private String open;

        Collector(Task waiter) {
            this.waiter = waiter;
        }

        @Override
        public Task waiter() {
            return waiter;
        }

        @Override
        public void add(Task t) {
            if (t != null && !tasks.contains(t)) {
                tasks.add(t);
            }
        }

        @Override
        public void all() {
            mode = Mode.ALL;
        }

        @Override
        public void open(String why) {
            if (open == null) {
                open = why == null ? "someone undeclared" : why;
            }
        }

        void reset() {
            tasks.clear();
            mode = Mode.ANY;
            open = null;
        }

        Wakers build() {
            return new Wakers(List.copyOf(tasks), mode, open);
        }
    }
}
