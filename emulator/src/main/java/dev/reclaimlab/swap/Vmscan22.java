package dev.reclaimlab.swap;

import dev.reclaimlab.mm.Gfp22;
import dev.reclaimlab.mm.KmemCache;
import dev.reclaimlab.mm.PhysMem;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * mm/vmscan.c of Linux 2.2.1: try_to_free_pages() wakes kswapd and, for a __GFP_WAIT caller, runs
 * do_try_to_free_pages(): kmem_cache_reap() (one slab cache a call), then from priority 6 down to 0
 * shrink_mmap() and swap_out() until SWAP_CLUSTER_MAX (32) of them succeeded; "freed" means that count
 * was reached, whether or not a page is free yet (a queued write counts). swap_out() picks the process with the largest swap_cnt
 * and walks its mappings from swap_address; try_to_swap_out() ages a young pte, drops a clean or
 * swap-cached one, and for a dirty page with __GFP_IO either calls the mapping's swapout
 * (filemap_swapout() for a shared file) or moves an anonymous page into the swap cache and writes it with
 * rw_swap_page(). Not modelled: the big kernel lock (2.2 dropped it whenever reclaim slept), shm_swap()
 * (no SysV shared memory here) and shrink_dcache_memory() (no dcache).
 */
public final class Vmscan22 {
    public static final int SWAP_CLUSTER_MAX = 32;
    private static final int DEF_PRIORITY = 6;

    private final Mm22 mm;
    private final AtomicLong filemapSwapouts = new AtomicLong();
    private final AtomicLong anonSwapouts = new AtomicLong();
    private final AtomicLong directCalls = new AtomicLong();
    private final AtomicLong reapClock = new AtomicLong();

    Vmscan22(Mm22 mm) {
        this.mm = mm;
    }

    /** Shared-file pages try_to_swap_out() handed to filemap_swapout(). */
    public long filemapSwapouts() {
        return filemapSwapouts.get();
    }

    /** Anonymous pages try_to_swap_out() moved to the swap cache and wrote. */
    public long anonSwapouts() {
        return anonSwapouts.get();
    }

    /** try_to_free_pages() calls that reclaimed in the caller. */
    public long directCalls() {
        return directCalls.get();
    }

    /** try_to_free_pages(): 1 if the caller may go on ("freed"), 0 if not. */
    public int tryToFreePages(int gfp) {
        mm.kswapdDaemon().wakeUp();
        if (!Gfp22.mayWait(gfp)) {
            return 1;
        }
        directCalls.incrementAndGet();
        return doTryToFreePages(gfp) ? 1 : 0;
    }

    /** do_try_to_free_pages(): true when SWAP_CLUSTER_MAX steps succeeded before priority ran out. */
    boolean doTryToFreePages(int gfp) {
        int count = SWAP_CLUSTER_MAX;
        // Always trim SLAB caches when memory gets low.
        kmemCacheReap();
        for (int priority = DEF_PRIORITY; priority >= 0; priority--) {
            while (mm.shrinkMmapper().shrinkMmap(priority, gfp)) {
                if (--count == 0) {
                    return true;
                }
            }
            while (swapOut(priority, gfp)) {
                if (--count == 0) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * kmem_cache_reap() of 2.2's slab: one cache a call, taken round-robin from the cache chain (2.2 chose
     * the cache with most free slabs among the next ten), gives back its empty slabs.
     */
    private void kmemCacheReap() {
        List<KmemCache> caches = mm.kernel().mm().slub().caches();
        if (caches.isEmpty()) {
            return;
        }
        int i = (int) Math.floorMod(reapClock.getAndIncrement(), (long) caches.size());
        mm.kernel().mm().slub().kmemCacheShrink(caches.get(i));
    }

    /** swap_out(): the largest swap_cnt first; refills swap_cnt from rss when nobody has any left. */
    private boolean swapOut(int priority, int gfp) {
        int nrTasks = mm.nrTasks();
        int counter = Math.max(1, Math.min(nrTasks, nrTasks / (priority + 1)));
        List<Process22> procs = mm.processes();
        for (; counter >= 0; counter--) {
            Process22 best = select(procs, false);
            if (best == null) {
                best = select(procs, true);
                if (best == null) {
                    return false;
                }
            }
            if (swapOutProcess(best, gfp)) {
                return true;
            }
        }
        return false;
    }

    private static Process22 select(List<Process22> procs, boolean assign) {
        Process22 best = null;
        int max = 0;
        for (Process22 p : procs) {
            if (!p.swappable) {
                continue;
            }
            int rss = p.mm().rss();
            if (rss <= 0) {
                continue;
            }
            if (assign) {
                p.swapCnt = rss;
            }
            if (p.swapCnt > max) {
                max = p.swapCnt;
                best = p;
            }
        }
        return best;
    }

    /** swap_out_process(): resumes at swap_address; nothing found clears swap_cnt and swap_address. */
    private boolean swapOutProcess(Process22 p, int gfp) {
        long address = p.swapAddress;
        MmStruct m = p.mm();
        Vma vma = m.findVma(address);
        while (vma != null) {
            if (address < vma.start()) {
                address = vma.start();
            }
            if (swapOutVma(p, vma, address, gfp)) {
                return true;
            }
            vma = m.next(vma);
            if (vma != null) {
                address = vma.start();
            }
        }
        p.swapCnt = 0;
        p.swapAddress = 0;
        return false;
    }

    private boolean swapOutVma(Process22 p, Vma vma, long address, int gfp) {
        if ((vma.flags() & (Vma.VM_SHM | Vma.VM_LOCKED)) != 0) {
            return false;
        }
        for (long a = address; a < vma.end() && !vma.dead; a += PhysMem.PAGE_SIZE) {
            p.swapAddress = a + PhysMem.PAGE_SIZE;
            if (tryToSwapOut(p, vma, vma.index(a), gfp) != 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * try_to_swap_out(): 1 when it slept or freed (the scan stops), 0 to go on. The pte is examined and
     * changed under page_table_lock; the write-out itself runs after it is dropped.
     */
    int tryToSwapOut(Process22 p, Vma vma, int idx, int gfp) {
        MmStruct m = p.mm();
        m.pageTableLock.spinLock();
        long pte = vma.pte(idx);
        if (!Vma.present(pte) || vma.dead) {
            m.pageTableLock.spinUnlock();
            return 0;
        }
        int pfn = Vma.ptePfn(pte);
        Page22 page = mm.page(pfn);
        if (page.locked()) {
            m.pageTableLock.spinUnlock();
            return 0;
        }
        if ((pte & Vma.PTE_ACCESSED) != 0) {
            // Transfer the "accessed" bit from the page tables to the global page map.
            vma.setPte(idx, pte & ~Vma.PTE_ACCESSED);
            page.set(Page22.PG_referenced);
            m.pageTableLock.spinUnlock();
            return 0;
        }
        if (page.swapCache()) {
            // Already on disk: drop our reference, keep the entry in the pte.
            long entry = page.offset();
            mm.swap().swapDuplicate(entry);
            vma.setPte(idx, entry);
            m.rss.decrementAndGet();
            m.pageTableLock.spinUnlock();
            mm.freePage(pfn);
            return 0;
        }
        if ((pte & Vma.PTE_DIRTY) == 0) {
            // Clean: recoverable by paging it in again; shrink_mmap() may free it later.
            vma.setPte(idx, 0);
            m.rss.decrementAndGet();
            m.pageTableLock.spinUnlock();
            mm.freePage(pfn);
            return 0;
        }
        // Don't go down into the swap-out stuff if we cannot do I/O! Avoid recursing on FS locks etc.
        if (!Gfp22.mayIo(gfp)) {
            m.pageTableLock.spinUnlock();
            return 0;
        }
        if (vma.sharedFile()) {
            vma.setPte(idx, 0);
            m.rss.decrementAndGet();
            m.pageTableLock.spinUnlock();
            filemapSwapouts.incrementAndGet();
            if (mm.pageCache().filemapSwapout(vma, page) != 0) {
                p.kill("SIGBUS from filemap_swapout");
            }
            mm.freePage(pfn);
            return 1;
        }
        long entry = mm.swap().getSwapPage();
        if (entry == 0) {
            m.pageTableLock.spinUnlock();
            return 0;
        }
        m.rss.decrementAndGet();
        p.nswap++;
        vma.setPte(idx, entry);
        // One for the process, one for the swap cache.
        mm.swap().swapDuplicate(entry);
        mm.swap().addToSwapCache(page, entry);
        page.set(Page22.PG_locked);
        m.pageTableLock.spinUnlock();
        anonSwapouts.incrementAndGet();
        mm.pageIo().rwSwapPage(PageIo.WRITE, entry, page, false);
        mm.freePage(pfn);
        return 1;
    }
}
