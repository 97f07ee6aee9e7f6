package dev.reclaimlab.swap;

import dev.reclaimlab.kernel.Task;

/**
 * A user process of the emulated 2.2 system: its task, its mm and the two fields 2.2.1's swap_out() keeps
 * in task_struct, swap_cnt (a "shadow rss" that picks the next victim) and swap_address (where the scan
 * of this process resumes). The process's own thread runs it; reclaim in other tasks walks its mappings.
 */
public final class Process22 {
    private final Mm22 mm22;
    private final Task task;
    private final MmStruct mm = new MmStruct();
    volatile int swapCnt;
    volatile long swapAddress;
    volatile boolean swappable = true;
    volatile long nswap;
    private volatile String killedBy;

    private Process22(Mm22 mm22, Task task) {
        this.mm22 = mm22;
        this.task = task;
    }

    /** The calling task becomes a process with an empty mm (exec of a static binary, as far as swap cares). */
    public static Process22 attach(Mm22 mm22, Task task) {
        Process22 p = new Process22(mm22, task);
        mm22.register(p);
        return p;
    }

    public Task task() {
        return task;
    }

    public MmStruct mm() {
        return mm;
    }

    public Mm22 mm22() {
        return mm22;
    }

    /** tsk->nswap: pages this process had swapped out. */
    public long nswap() {
        return nswap;
    }

    /** kill_proc()/oom(): the signal that killed the process, or null. */
    public String killedBy() {
        return killedBy;
    }

    void kill(String why) {
        killedBy = why;
        task.sendFatalSignal();
    }

    /** do_exit()'s exit_mm(): every mapping is unmapped; the process leaves the task list. */
    public void exit() {
        for (Vma v : mm.vmas) {
            mm22.memory().munmap(this, v);
        }
        mm22.unregister(this);
    }

    @Override
    public String toString() {
        return task.toString();
    }
}
