package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Task;

import static dev.reclaimlab.kernel.TaskFlags.PF_MEMALLOC;
import static dev.reclaimlab.kernel.TaskFlags.PF_MEMALLOC_NOFS;
import static dev.reclaimlab.kernel.TaskFlags.PF_MEMALLOC_NOIO;

/**
 * include/linux/sched/mm.h: the scoped allocation API. A task marks a section NOFS or NOIO once and every
 * allocation inside obeys it, however deep and whatever gfp the callee passes: the "third best way" of
 * the 2015 thread, which became the kernel's preferred one.
 */
public final class SchedMm {
    private SchedMm() {
    }

    /** current_gfp_context(): NOIO wins and also clears __GFP_FS; NOFS clears __GFP_FS. */
    public static int currentGfpContext(Task t, int gfp) {
        int pflags = t.flags();
        if ((pflags & (PF_MEMALLOC_NOIO | PF_MEMALLOC_NOFS)) != 0) {
            if ((pflags & PF_MEMALLOC_NOIO) != 0) {
                gfp &= ~(Gfp.__GFP_IO | Gfp.__GFP_FS);
            } else {
                gfp &= ~Gfp.__GFP_FS;
            }
        }
        return gfp;
    }

    public static int currentGfpContext(int gfp) {
        return currentGfpContext(Task.current(), gfp);
    }

    /** memalloc_nofs_save(): returns the previous PF_MEMALLOC_NOFS bit for the matching restore. */
    public static int memallocNofsSave() {
        return save(PF_MEMALLOC_NOFS);
    }

    public static void memallocNofsRestore(int saved) {
        restore(PF_MEMALLOC_NOFS, saved);
    }

    /** memalloc_noio_save(). */
    public static int memallocNoioSave() {
        return save(PF_MEMALLOC_NOIO);
    }

    public static void memallocNoioRestore(int saved) {
        restore(PF_MEMALLOC_NOIO, saved);
    }

    /** memalloc_noreclaim_save(): PF_MEMALLOC, as reclaim itself runs (no recursion into reclaim). */
    public static int memallocNoreclaimSave() {
        return save(PF_MEMALLOC);
    }

    public static void memallocNoreclaimRestore(int saved) {
        restore(PF_MEMALLOC, saved);
    }

    /** {@code try (var s = SchedMm.nofsScope()) { ... }}: memalloc_nofs_save/restore as a scope. */
    public static MemallocScope nofsScope() {
        return new MemallocScope(Task.current(), PF_MEMALLOC_NOFS);
    }

    public static MemallocScope noioScope() {
        return new MemallocScope(Task.current(), PF_MEMALLOC_NOIO);
    }

    public static MemallocScope noreclaimScope() {
        return new MemallocScope(Task.current(), PF_MEMALLOC);
    }

    private static int save(int bit) {
        Task t = Task.current();
        int f = t.flags();
        t.setFlags(f | bit);
        return f & bit;
    }

    private static void restore(int bit, int saved) {
        if ((saved & ~bit) != 0) {
            throw new IllegalArgumentException("memalloc restore: 0x" + Integer.toHexString(saved)
                    + " is not a value the matching save returned");
        }
        Task t = Task.current();
        t.setFlags((t.flags() & ~bit) | saved);
    }

    /** One save/restore pair; restores exactly the state before it was opened. */
    public static final class MemallocScope implements AutoCloseable {
        private final Task task;
        private final int bit;
        private final int saved;
        private boolean closed;

        MemallocScope(Task task, int bit) {
            this.task = task;
            this.bit = bit;
            int f = task.flags();
            this.saved = f & bit;
            task.setFlags(f | bit);
        }

        @Override
        public void close() {
            if (closed) {
                throw new IllegalStateException("memalloc scope of " + task + " closed twice");
            }
            closed = true;
            task.setFlags((task.flags() & ~bit) | saved);
        }
    }
}
