package dev.reclaimlab.watchdog;

import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.locking.KernelStack;
import dev.reclaimlab.locking.Lockable;
import dev.reclaimlab.locking.WaitRecord;
import dev.reclaimlab.locking.Wakers;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One task as a watchdog report shows it, captured once (sched_show_task() and debug_show_held_locks()
 * in data form): what it waits on and how, for how long, who can end the wait, what it holds, its
 * kernel-frame stack, and the work it runs if it is a workqueue worker.
 *
 * @param task "comm:pid"
 * @param state the kernel's state letter: D (sleeping uninterruptibly), R (spinning), S
 * @param waitsOn the waited object's name; {@code kind} the primitive; {@code describe} both with the lock class
 * @param timed the wait has a deadline; {@code killable} a fatal signal would end it (TASK_KILLABLE)
 * @param wakers who can end the wait, "comm:pid"; {@code wakerMode} ANY or ALL; {@code openWaker} why
 *        someone else could end it, or null; {@code wakerUnknown} nobody is declared
 * @param locksKnown false when lockdep is off (then {@code heldLocks} is empty for want of knowing)
 * @param workqueue "wq-name work-name" while a worker runs a work, else null
 */
public record BlockedTask(String task, String comm, int pid, boolean kthread, char state, String flags,
                          String waitsOn, String kind,
                          String describe, long blockedMillis, boolean timed, boolean killable, List<String> wakers,
                          String wakerMode, String openWaker, boolean wakerUnknown, boolean locksKnown,
                          List<String> heldLocks, List<String> stack, String workqueue) {

    public BlockedTask {
        wakers = List.copyOf(wakers);
        heldLocks = List.copyOf(heldLocks);
        stack = List.copyOf(stack);
    }

    static BlockedTask of(WaitRecord.Snapshot s, long nowNanos) {
        Task t = s.task();
        Wakers w = s.wakers();
        List<String> wakers = new ArrayList<>();
        for (Task x : w.tasks()) {
            wakers.add(x.toString());
        }
        return new BlockedTask(t.toString(), t.comm(), t.pid(), t.isKthread(), s.stateChar(), TaskFlags.format(t.flags()),
                s.on().name(), s.kind().label(), s.describe(), TimeUnit.NANOSECONDS.toMillis(nowNanos - s.sinceNanos()),
                s.timed(), s.killable(), wakers, w.mode().name(), w.open(), w.unknown(),
                t.kernel().lockdep().enabled(), heldLocks(s),
                KernelStack.of(t.thread()), t.currentWork());
    }

    /** A task that is not waiting (running, or between waits), as a stall report shows it. */
    static BlockedTask running(Task t) {
        return new BlockedTask(t.toString(), t.comm(), t.pid(), t.isKthread(), 'R', TaskFlags.format(t.flags()), null,
                null, null, 0,
                false, false, List.of(), Wakers.Mode.ANY.name(), null, false, t.kernel().lockdep().enabled(),
                heldLocks(t, null),
                KernelStack.of(t.thread()), t.currentWork());
    }

    /** The held locks, without the one the task is still waiting to get (lockdep pushes it first). */
    private static List<String> heldLocks(WaitRecord.Snapshot s) {
        return heldLocks(s.task(), s.on() instanceof Lockable ? ((Lockable) s.on()).depMap() : null);
    }

    private static List<String> heldLocks(Task t, dev.reclaimlab.locking.LockdepMap pending) {
        if (!t.kernel().lockdep().enabled()) {
            return List.of();
        }
        return t.heldLocks().describeExcept(pending);
    }

    /** Who can end the wait, in words. */
    public String wakersText() {
        if (wakerUnknown) {
            return "(nobody declared: the waker is unknown)";
        }
        String s = wakers.isEmpty() ? "" : ("ALL".equals(wakerMode) ? "all of " : "") + wakers;
        if (openWaker != null) {
            s = s.isEmpty() ? openWaker : s + " or " + openWaker;
        }
        return s;
    }
}
