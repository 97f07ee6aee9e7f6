package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.BitWaitTable;
import dev.reclaimlab.locking.BitWord;
import dev.reclaimlab.locking.Sleep;
import dev.reclaimlab.locking.Waitable;
import dev.reclaimlab.locking.WakerSink;

import java.util.concurrent.ConcurrentHashMap;

/**
 * wait_on_page_bit() and the hashed page wait table (mm/filemap.c): tasks sleeping for PG_locked or
 * PG_writeback to clear use the kernel's bit wait table, 256 buckets keyed by pfn. Who can end the wait:
 * the page lock's holder, or whoever owes the page's writeback completion. A page locked or under
 * writeback for IO is owed by the IO (a bio): its owner field holds {@link #IO_OWED} and the IO, asked when
 * the watchdog reads, names every task that could complete it.
 */
final class PageWait {
    private static final int PAGE_WAIT_TABLE_BITS = 8;
    /** The lock or writeback owner field's value while the page is owed by an IO in {@link #lockIo}/{@link #writebackIo}. */
    static final int IO_OWED = -1;

    private final Kernel kernel;
    private final MemMap map;
    private final BitWaitTable table = new BitWaitTable(PAGE_WAIT_TABLE_BITS);
    private final ConcurrentHashMap<Integer, Waitable> lockIo = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Integer, Waitable> writebackIo = new ConcurrentHashMap<>();

    PageWait(Kernel kernel, MemMap map) {
        this.kernel = kernel;
        this.map = map;
    }

    /** One page's flags word, as the bit wait table sees it. */
    private final class PageBits implements BitWord {
        private final int pfn;

        PageBits(int pfn) {
            this.pfn = pfn;
        }

        @Override
        public boolean testBit(int bit) {
            return map.testFlag(pfn, bit);
        }

        @Override
        public boolean testAndSetBit(int bit) {
            return !map.testAndSetFlag(pfn, bit);
        }

        @Override
        public String bitName(int bit) {
            return PageFlags.name(bit) + " of pfn " + pfn;
        }

        @Override
        public void bitWakers(int bit, WakerSink out) {
            int pid = bit == PageFlags.PG_locked ? map.lockOwner(pfn) : map.writebackOwner(pfn);
            if (pid == IO_OWED) {
                Waitable io = ioTable(bit).get(pfn);
                if (io != null) {
                    io.wakers(out);
                }
            } else if (pid != 0) {
                out.add(kernel.findTaskByPid(pid));
            }
        }
    }

    /**
     * Sleeps in D state until {@code bit} of {@code pfn} is clear; with {@code lock}, then takes it
     * (lock_page()) and records the caller as its holder.
     */
    void waitOnPageBit(int pfn, int bit, boolean lock) {
        Task t = Task.current();
        PageBits w = new PageBits(pfn);
        if (lock) {
            table.waitOnBitLock(t, pfn, w, bit, Task.TASK_UNINTERRUPTIBLE, -1);
            map.setLockOwner(pfn, t.pid());
        } else {
            table.waitOnBit(t, pfn, w, bit, Task.TASK_UNINTERRUPTIBLE, -1);
        }
    }

    private ConcurrentHashMap<Integer, Waitable> ioTable(int bit) {
        return bit == PageFlags.PG_locked ? lockIo : writebackIo;
    }

    /** The page's {@code bit} is owed by {@code io}; the caller then sets the owner field to {@link #IO_OWED}. */
    void setIoOwner(int pfn, int bit, Waitable io) {
        ioTable(bit).put(pfn, io);
    }

    /** The bit was cleared: forget the IO it was owed by. */
    void forgetIo(int pfn, int bit) {
        ioTable(bit).remove(pfn);
    }

    /**
     * __lock_page_killable(): as lock_page() in TASK_KILLABLE, which a fatal signal ends (and which
     * khungtaskd does not count). True once the lock is the caller's, false if it was killed.
     */
    boolean lockPageKillable(int pfn) {
        Task t = Task.current();
        PageBits w = new PageBits(pfn);
        if (table.waitOnBitLock(t, pfn, w, PageFlags.PG_locked, Task.TASK_KILLABLE, -1)
                == Sleep.KILLED) {
            return false;
        }
        map.setLockOwner(pfn, t.pid());
        return true;
    }

    /**
     * wait_on_page_bit_killable_timeout() (3.18, "MM: export page_wakeup functions"): TASK_KILLABLE until
     * {@code bit} is clear or {@code nanos} passed. Sleep.DONE, TIMED_OUT or KILLED.
     */
    int waitOnPageBitKillableTimeout(int pfn, int bit, long nanos) {
        Task t = Task.current();
        return table.waitOnBit(t, pfn, new PageBits(pfn), bit, Task.TASK_KILLABLE, nanos);
    }

    /** wake_up_page(): after a page bit was cleared with a full barrier. */
    void wakeUpPage(int pfn) {
        table.wakeUpBit(pfn);
    }
}
