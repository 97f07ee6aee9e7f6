package dev.reclaimlab.swap;

import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.SpinLock;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * struct mm_struct as in Linux 2.2: the mappings and rss. 2.2 serialised page-table changes between a
 * process and swap_out() with the big kernel lock; here each mm has 2.4's page_table_lock.
 */
public final class MmStruct {
    private static final LockClassKey PAGE_TABLE_LOCK = new LockClassKey("page_table_lock");
    /** TASK_UNMAPPED_BASE of i386. */
    static final long TASK_UNMAPPED_BASE = 0x40000000L;
    /** TASK_SIZE of i386: user addresses end at 3 GiB. */
    static final long TASK_SIZE = 0xc0000000L;

    final SpinLock pageTableLock = new SpinLock("page_table_lock", PAGE_TABLE_LOCK);
    final List<Vma> vmas = new CopyOnWriteArrayList<>();
    final AtomicInteger rss = new AtomicInteger();
    long nextAddr = TASK_UNMAPPED_BASE;

    /** mm->rss. */
    public int rss() {
        return rss.get();
    }

    /** find_vma(): the first mapping that ends above {@code addr}, or null. */
    Vma findVma(long addr) {
        for (Vma v : vmas) {
            if (!v.dead && v.end() > addr) {
                return v;
            }
        }
        return null;
    }

    /** The mapping after {@code v} (vm_next), or null. */
    Vma next(Vma v) {
        boolean seen = false;
        for (Vma x : vmas) {
            if (seen && !x.dead) {
                return x;
            }
            if (x == v) {
                seen = true;
            }
        }
        return null;
    }
}
