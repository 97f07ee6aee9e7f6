package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.WaitKind;
import dev.reclaimlab.locking.WaitRecord;
import dev.reclaimlab.locking.Waitable;

import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * wait_on_page_bit() and the hashed page wait table (mm/filemap.c): tasks sleeping for PG_locked or
 * PG_writeback to clear queue on one of 256 buckets chosen by pfn and are all woken when a bit clears on
 * any page of the bucket; each rechecks its own page. The wait record names the page and who can end the
 * wait: the page lock's holder, or whoever owes the page's writeback completion.
 */
final class PageWait {
    private static final int PAGE_WAIT_TABLE_BITS = 8;

    private final Kernel kernel;
    private final MemMap map;
    @SuppressWarnings({"unchecked", "rawtypes"})
    private final ConcurrentLinkedQueue<Task>[] table = new ConcurrentLinkedQueue[1 << PAGE_WAIT_TABLE_BITS];

    PageWait(Kernel kernel, MemMap map) {
        this.kernel = kernel;
        this.map = map;
        for (int i = 0; i < table.length; i++) {
            table[i] = new ConcurrentLinkedQueue<>();
        }
    }

    private ConcurrentLinkedQueue<Task> bucket(int pfn) {
        return table[(pfn * 0x9E3779B9) >>> (32 - PAGE_WAIT_TABLE_BITS)];
    }

    /** The page bit one task sleeps on, as the watchdog sees it. */
    private final class PageBitWait implements Waitable {
        private final int pfn;
        private final int bit;

        PageBitWait(int pfn, int bit) {
            this.pfn = pfn;
            this.bit = bit;
        }

        @Override
        public String name() {
            return (bit == PageFlags.PG_locked ? "PG_locked" : "PG_writeback") + " of pfn " + pfn;
        }

        @Override
        public void addWakers(List<Task> out) {
            int pid = bit == PageFlags.PG_locked ? map.lockOwner(pfn) : map.writebackOwner(pfn);
            Task t = pid == 0 ? null : kernel.findTaskByPid(pid);
            if (t != null) {
                out.add(t);
            }
        }

        @Override
        public String toString() {
            return "page " + name();
        }
    }

    /**
     * Sleeps in D state until {@code bit} of {@code pfn} is clear; with {@code lock}, then takes it
     * (lock_page()) and records the caller as its holder.
     */
    void waitOnPageBit(int pfn, int bit, boolean lock) {
        Task t = Task.current();
        ConcurrentLinkedQueue<Task> q = bucket(pfn);
        WaitRecord rec = t.waitRecord();
        rec.publish(new PageBitWait(pfn, bit), bit == PageFlags.PG_locked ? WaitKind.MUTEX : WaitKind.WAITQUEUE);
        q.add(t);
        try {
            for (;;) {
                t.setState(Task.TASK_UNINTERRUPTIBLE);
                if (lock ? map.testAndSetFlag(pfn, bit) : !map.testFlag(pfn, bit)) {
                    break;
                }
                t.schedule();
            }
        } finally {
            q.remove(t);
            t.setState(Task.TASK_RUNNING);
            rec.clear();
        }
        if (lock) {
            map.setLockOwner(pfn, t.pid());
        }
    }

    /** wake_up_page(): after a page bit was cleared with a full barrier. */
    void wakeUpPage(int pfn) {
        ConcurrentLinkedQueue<Task> q = bucket(pfn);
        if (q.isEmpty()) {
            return;
        }
        for (Task w : q) {
            w.wakeUpProcess();
        }
    }
}
