package dev.reclaimlab.fs.buffer;

import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.WaitQueue;
import dev.reclaimlab.swap.Mm22;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * bdflush ("kflushd") and update as in Linux 2.2 (fs/buffer.c): kflushd writes up to ndirty (500) dirty
 * buffers a pass with ll_rw_block(WRITE) in its own context, runs tq_disk, wakes whoever waits in
 * wakeup_bdflush(1), and sleeps until woken unless more than nfract (40%) of the buffers are still dirty.
 * update (the user daemon calling bdflush(1) every 5 s) writes the buffers whose age is up:
 * sync_old_buffers(). A write to nbd runs the nbd request function in kflushd's context, so kflushd can
 * wait for the nbd-server like any submitter.
 */
public final class Bdflush {
    private static final long UPDATE_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final BufferCache cache;
    private final Mm22 mm;
    private final WaitQueue bdflushWait = new WaitQueue("bdflush_wait");
    private final WaitQueue bdflushDone = new WaitQueue("bdflush_done");
    private volatile boolean woken;
    private volatile long passes;
    private volatile Task task;
    private volatile Task update;

    Bdflush(BufferCache cache, Mm22 mm) {
        this.cache = cache;
        this.mm = mm;
    }

    void start() {
        task = mm.kernel().kthreadRun("kflushd", 0, this::bdflush);
        bdflushDone.expectWaker(task);
        update = mm.kernel().kthreadRun("update", 0, this::update);
    }

    public Task task() {
        return task;
    }

    /** Passes kflushd has finished. */
    public long passes() {
        return passes;
    }

    /** wakeup_bdflush(wait): with {@code wait}, runs tq_disk and sleeps until kflushd ends a pass. */
    void wakeup(boolean wait) {
        Task me = Task.current();
        if (me == task) {
            return;
        }
        woken = true;
        bdflushWait.wakeUp();
        if (wait) {
            cache.blk().runTqDisk();
            long seen = passes;
            bdflushDone.waitEvent(() -> passes != seen);
        }
    }

    private void bdflush(Task self) {
        while (!self.kthreadShouldStop()) {
            List<BufferHead> dirty = cache.takeDirty(null, BufferCache.NDIRTY, 0);
            cache.writeTaken(dirty);
            cache.blk().runTqDisk();
            passes = passes + 1;
            bdflushDone.wakeUp();
            if (dirty.isEmpty() || !cache.tooManyDirty()) {
                // interruptible_sleep_on(&bdflush_wait): only a wakeup_bdflush() starts the next pass.
                woken = false;
                while (!woken && !self.kthreadShouldStop()) {
                    bdflushWait.waitEventInterruptibleTimeout(() -> woken || self.kthreadShouldStop(),
                            TimeUnit.SECONDS.toNanos(1));
                }
            }
        }
    }

    /** update: sync_old_buffers() every 5 seconds. */
    private void update(Task self) {
        WaitQueue tick = new WaitQueue("update");
        while (!self.kthreadShouldStop()) {
            tick.waitEventInterruptibleTimeout(self::kthreadShouldStop, UPDATE_INTERVAL_NANOS);
            if (self.kthreadShouldStop()) {
                return;
            }
            cache.writeTaken(cache.takeDirty(null, Integer.MAX_VALUE, System.nanoTime()));
            cache.blk().runTqDisk();
        }
    }
}
