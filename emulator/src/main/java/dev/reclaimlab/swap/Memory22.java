package dev.reclaimlab.swap;

import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.mm.Gfp22;
import dev.reclaimlab.mm.PhysMem;

/**
 * mm/memory.c and the parts of mm/mmap.c of Linux 2.2 that a process with anonymous and shared file
 * mappings needs: mmap(), munmap() (a shared file mapping writes its dirty pages first, filemap_unmap()),
 * handle_mm_fault() with do_no_page() (do_anonymous_page() or filemap_nopage()), do_swap_page() (swap_in())
 * and do_wp_page(), and the user copies the kernel makes (copy_from_user(), copy_to_user()). A user access
 * sets the pte's accessed bit, a write its dirty bit, as the MMU does. No ZERO_PAGE: a read fault on
 * anonymous memory gets a page of its own. Page tables cost no memory here.
 */
public final class Memory22 {
    /** vm_offset is an unsigned long of i386: do_mmap() refuses an offset + length that wraps it. */
    static final long VM_OFFSET_LIMIT = 1L << 32;

    private final Mm22 mm;

    Memory22(Mm22 mm) {
        this.mm = mm;
    }

    /** One piece of a user access: the user page's kernel address for this piece, its offset and length. */
    @FunctionalInterface
    public interface Chunk {
        void copy(long userKaddr, long done, int len);
    }

    /** do_mmap(): a new mapping of {@code len} bytes; {@code file} null for anonymous memory. */
    public Vma mmap(Process22 p, long len, File22 file, long offset, boolean shared) {
        if (len <= 0 || (offset & (PhysMem.PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException("mmap: length " + len + " and page-aligned offset " + offset + " required");
        }
        if (offset < 0) {
            throw new IllegalArgumentException("mmap of " + (file == null ? "anonymous memory" : file.name())
                    + ": negative offset " + offset);
        }
        if (len > MmStruct.TASK_SIZE - p.mm().nextAddr) {
            throw new IllegalArgumentException("mmap: length " + len + " does not fit in " + p
                    + "'s address space (TASK_SIZE 0x" + Long.toHexString(MmStruct.TASK_SIZE) + ", next free 0x"
                    + Long.toHexString(p.mm().nextAddr) + ")");
        }
        long pages32 = (len - 1) / PhysMem.PAGE_SIZE + 1;
        if (offset >= VM_OFFSET_LIMIT || pages32 >= (VM_OFFSET_LIMIT - offset) >>> PhysMem.PAGE_SHIFT) {
            throw new IllegalArgumentException("mmap of " + (file == null ? "anonymous memory" : file.name())
                    + ": offset overflow, offset 0x" + Long.toHexString(offset) + " + length " + len
                    + " wraps 2.2's 32-bit vm_offset (do_mmap()'s -EINVAL)");
        }
        if (shared && file == null) {
            throw new IllegalArgumentException("mmap: MAP_SHARED of anonymous memory is SysV shm, not modelled");
        }
        checkCurrent(p, "mmap");
        int pages = (int) ((len + PhysMem.PAGE_SIZE - 1) >>> PhysMem.PAGE_SHIFT);
        MmStruct m = p.mm();
        long start = m.nextAddr;
        m.nextAddr += ((long) pages + 1) << PhysMem.PAGE_SHIFT;
        int flags = Vma.VM_READ | Vma.VM_WRITE | (shared ? Vma.VM_SHARED : 0);
        if (file != null) {
            file.fget();
        }
        Vma v = new Vma(m, start, pages, flags, file, offset);
        m.vmas.add(v);
        if (file != null) {
            file.mapping().iMmap.add(v);
        }
        return v;
    }

    /** do_munmap() of a whole mapping: filemap_unmap() (msync MS_ASYNC) first, then zap_page_range(). */
    public void munmap(Process22 p, Vma v) {
        checkCurrent(p, "munmap");
        if (v.mm() != p.mm()) {
            throw new IllegalArgumentException("munmap of " + v + " by " + p + ": the mapping is another process's");
        }
        if (v.dead) {
            return;
        }
        if (v.sharedFile()) {
            filemapSync(v);
        }
        MmStruct m = p.mm();
        v.dead = true;
        zapPageRange(v, 0);
        m.vmas.remove(v);
        if (v.file() != null) {
            v.file().mapping().iMmap.remove(v);
            v.file().fput();
        }
    }

    /** zap_page_range() of {@code v} from its page {@code from} to its end: each pte cleared, its page let go. */
    private void zapPageRange(Vma v, int from) {
        MmStruct m = v.mm();
        for (int i = from; i < v.nrPages(); i++) {
            m.pageTableLock.spinLock();
            long pte = v.pte(i);
            v.setPte(i, 0);
            if (Vma.present(pte)) {
                m.rss.decrementAndGet();
            }
            m.pageTableLock.spinUnlock();
            if (Vma.present(pte)) {
                mm.freePage(Vma.ptePfn(pte));
            } else if (pte != 0) {
                mm.swap().swapFree(pte);
            }
        }
    }

    /**
     * vmtruncate()'s second half (2.2.1 mm/memory.c; truncate_inode_pages() is the caller's, done first): every
     * mapping of the file loses its pages at or beyond {@code offset}, in whichever process it is, so no pte
     * keeps a truncated page or writes it back over blocks the truncate frees. The page that straddles
     * {@code offset} stays mapped with its tail zeroed (partial_clear(): a private copy is not the cache's page).
     */
    public void vmtruncate(Mapping22 mapping, long offset) {
        if (offset < 0) {
            throw new IllegalArgumentException("vmtruncate of " + mapping + ": negative offset " + offset);
        }
        for (Vma v : mapping.iMmap) {
            if (v.dead) {
                continue;
            }
            if (v.offset() >= offset) {
                zapPageRange(v, 0);
                continue;
            }
            long diff = offset - v.offset();
            if (diff >= (long) v.nrPages() << PhysMem.PAGE_SHIFT) {
                continue;
            }
            int idx = (int) (diff >>> PhysMem.PAGE_SHIFT);
            int off = (int) (diff & (PhysMem.PAGE_SIZE - 1));
            if (off != 0) {
                partialClear(v, idx, off);
                idx++;
            }
            zapPageRange(v, idx);
        }
    }

    /** partial_clear(): the mapped page at {@code idx}, if present, zeroed from {@code off} to its end. */
    private void partialClear(Vma v, int idx, int off) {
        MmStruct m = v.mm();
        m.pageTableLock.spinLock();
        try {
            long pte = v.pte(idx);
            if (Vma.present(pte)) {
                mm.mem().memset(mm.mem().pageAddress(Vma.ptePfn(pte)) + off, 0, PhysMem.PAGE_SIZE - off);
            }
        } finally {
            m.pageTableLock.spinUnlock();
        }
    }

    /**
     * filemap_sync() without MS_INVALIDATE: each dirty pte is cleaned and its page written with
     * filemap_write_page(..., wait 1), synchronously in the caller (also with kpiod).
     */
    public int filemapSync(Vma v) {
        MmStruct m = v.mm();
        int error = 0;
        for (int i = 0; i < v.nrPages(); i++) {
            m.pageTableLock.spinLock();
            long pte = v.pte(i);
            if (!Vma.present(pte) || (pte & Vma.PTE_DIRTY) == 0) {
                m.pageTableLock.spinUnlock();
                continue;
            }
            v.setPte(i, pte & ~Vma.PTE_DIRTY);
            int pfn = Vma.ptePfn(pte);
            mm.getPage(pfn);
            m.pageTableLock.spinUnlock();
            Page22 page = mm.page(pfn);
            long off = v.offset() + ((long) i << PhysMem.PAGE_SHIFT);
            error |= mm.pageCache().filemapWritePage(v.file(), off, page, true);
            mm.freePage(pfn);
        }
        return error;
    }

    /** The process reads its own memory. */
    public void readUser(Process22 p, long uaddr, byte[] dst, int off, int len) {
        checkBuffer(dst, off, len, "readUser", p);
        access(p, uaddr, len, false, (k, done, n) -> mm.mem().copyOut(k, dst, off + (int) done, n));
    }

    /** The process writes its own memory. */
    public void writeUser(Process22 p, long uaddr, byte[] src, int off, int len) {
        checkBuffer(src, off, len, "writeUser", p);
        access(p, uaddr, len, true, (k, done, n) -> mm.mem().copyIn(k, src, off + (int) done, n));
    }

    /**
     * copy_from_user() into kernel memory at {@code kaddr}: the bytes it could not copy, as 2.2's returns. A user
     * address with no mapping ends the copy there (the exception table's fixup, no signal); the kernel range must
     * be kernel memory.
     */
    public int copyFromUser(Process22 p, long kaddr, long uaddr, int len) {
        checkKernelRange(kaddr, len, "copy_from_user", p);
        return len - (int) walk(p, uaddr, len, false, (k, done, n) -> mm.mem().memcpy(kaddr + done, k, n), true);
    }

    /** copy_to_user() from kernel memory at {@code kaddr}: the bytes it could not copy, as 2.2's returns. */
    public int copyToUser(Process22 p, long uaddr, long kaddr, int len) {
        checkKernelRange(kaddr, len, "copy_to_user", p);
        return len - (int) walk(p, uaddr, len, true, (k, done, n) -> mm.mem().memcpy(k, kaddr + done, n), true);
    }

    /**
     * Walks a user range page by page: with the pte present (and writable for a write) the piece is copied
     * under page_table_lock, else handle_mm_fault() runs and the piece is tried again. Throws
     * {@link UserFault} where 2.2 would send a signal.
     */
    public void access(Process22 p, long uaddr, int len, boolean write, Chunk c) {
        walk(p, uaddr, len, write, c, false);
    }

    /** The walk; with {@code fixup} a missing mapping ends it (the bytes done are returned) instead of SIGSEGV. */
    private long walk(Process22 p, long uaddr, int len, boolean write, Chunk c, boolean fixup) {
        checkCurrent(p, "user access");
        if (len < 0) {
            throw new IllegalArgumentException("user access of " + p + " at 0x" + Long.toHexString(uaddr)
                    + ": negative length " + len);
        }
        MmStruct m = p.mm();
        long done = 0;
        while (done < len) {
            long a = uaddr + done;
            Vma v = m.findVma(a);
            if (v == null || !v.contains(a)) {
                if (fixup) {
                    return done;
                }
                throw new UserFault("SIGSEGV", p + " accessed unmapped address 0x" + Long.toHexString(a));
            }
            int idx = v.index(a);
            int pageOff = (int) (a & (PhysMem.PAGE_SIZE - 1));
            int n = (int) Math.min(len - done, PhysMem.PAGE_SIZE - pageOff);
            for (;;) {
                m.pageTableLock.spinLock();
                long pte = v.pte(idx);
                if (Vma.present(pte) && (!write || (pte & Vma.PTE_RW) != 0)) {
                    v.setPte(idx, pte | Vma.PTE_ACCESSED | (write ? Vma.PTE_DIRTY : 0));
                    try {
                        c.copy(mm.mem().pageAddress(Vma.ptePfn(pte)) + pageOff, done, n);
                    } finally {
                        m.pageTableLock.spinUnlock();
                    }
                    break;
                }
                m.pageTableLock.spinUnlock();
                handleMmFault(p, v, idx, write);
            }
            done += n;
        }
        return done;
    }

    private static void checkBuffer(byte[] b, int off, int len, String what, Process22 p) {
        if (b == null || off < 0 || len < 0 || off > b.length - len) {
            throw new IllegalArgumentException(what + " of " + p + ": bad buffer range " + off + "+" + len + " of "
                    + (b == null ? "null" : b.length + " bytes"));
        }
    }

    private void checkKernelRange(long kaddr, int len, String what, Process22 p) {
        if (len < 0) {
            throw new IllegalArgumentException(what + " of " + p + ": negative length " + len);
        }
        mm.mem().checkRange(kaddr, len, what + " of " + p);
    }

    /** handle_mm_fault(): throws {@link UserFault} when 2.2 would signal the process. */
    void handleMmFault(Process22 p, Vma v, int idx, boolean write) {
        if (p.task().fatalSignalPending()) {
            throw new UserFault("SIGKILL", p + " was killed" + (p.killedBy() == null ? "" : " (" + p.killedBy() + ")"));
        }
        MmStruct m = p.mm();
        m.pageTableLock.spinLock();
        long pte = v.pte(idx);
        m.pageTableLock.spinUnlock();
        if (Vma.present(pte)) {
            doWpPage(p, v, idx);
        } else if (pte == 0) {
            doNoPage(p, v, idx, write);
        } else {
            doSwapPage(p, v, idx, pte, write);
        }
    }

    private void doNoPage(Process22 p, Vma v, int idx, boolean write) {
        MmStruct m = p.mm();
        int pfn;
        long bits = Vma.PTE_RW | Vma.PTE_ACCESSED | (write ? Vma.PTE_DIRTY : 0);
        if (v.file() == null) {
            // do_anonymous_page()
            pfn = mm.getFreePage(Gfp22.GFP_USER);
            if (pfn < 0) {
                oom(p, "do_anonymous_page");
            }
            mm.mem().memset(mm.mem().pageAddress(pfn), 0, PhysMem.PAGE_SIZE);
        } else {
            pfn = mm.pageCache().filemapNopage(v, idx);
            if (pfn < 0) {
                throw new UserFault("SIGBUS", p + ": no page for " + v + " page " + idx);
            }
            if (!v.sharedFile()) {
                if (write) {
                    // filemap_nopage()'s no_share: a private write fault gets its own copy at once.
                    pfn = privateCopy(p, pfn);
                } else {
                    // do_no_page(): a private mapping of a page others hold is write-protected (COW later).
                    bits &= ~Vma.PTE_RW;
                }
            }
        }
        m.pageTableLock.spinLock();
        boolean installed = v.pte(idx) == 0 && !v.dead;
        if (installed) {
            v.setPte(idx, Vma.mkPte(pfn, bits));
            m.rss.incrementAndGet();
        }
        m.pageTableLock.spinUnlock();
        if (!installed) {
            mm.freePage(pfn);
        }
    }

    /**
     * filemap_nopage()'s copy for a private write: a GFP_USER page holding the cache page {@code pfn}, whose
     * reference it drops. Without one nopage returns 0 and the fault is a SIGBUS, as 2.2's do_page_fault() sends.
     */
    private int privateCopy(Process22 p, int pfn) {
        int npfn = mm.getFreePage(Gfp22.GFP_USER);
        if (npfn < 0) {
            mm.freePage(pfn);
            throw new UserFault("SIGBUS", p + ": no page for a private copy in filemap_nopage");
        }
        mm.mem().memcpy(mm.mem().pageAddress(npfn), mm.mem().pageAddress(pfn), PhysMem.PAGE_SIZE);
        mm.freePage(pfn);
        return npfn;
    }

    /** do_swap_page() / swap_in(). */
    private void doSwapPage(Process22 p, Vma v, int idx, long entry, boolean write) {
        SwapState swap = mm.swap();
        Page22 page = swap.lookupSwapCache(entry);
        if (page == null) {
            page = swap.readSwapCacheAsync(entry, true);
        }
        MmStruct m = p.mm();
        m.pageTableLock.spinLock();
        if (v.pte(idx) != entry || v.dead) {
            m.pageTableLock.spinUnlock();
            if (page != null) {
                swap.freePageAndSwapCache(page);
            }
            return;
        }
        if (page == null) {
            m.pageTableLock.spinUnlock();
            oom(p, "swap_in");
        }
        if (page.test(Page22.PG_error) || !page.uptodate()) {
            m.pageTableLock.spinUnlock();
            mm.freePage(page.pfn());
            throw new UserFault("SIGBUS", p + ": swap-in of entry 0x" + Long.toHexString(entry) + " failed");
        }
        m.rss.incrementAndGet();
        swap.swapFree(entry);
        // Unshared and wanted for writing: the swap cache lets go and the page is the process's own.
        boolean own = write && mm.pageCount(page.pfn()) == 2 && !page.locked();
        if (own) {
            v.setPte(idx, Vma.mkPte(page.pfn(), Vma.PTE_RW | Vma.PTE_ACCESSED | Vma.PTE_DIRTY));
        } else {
            v.setPte(idx, Vma.mkPte(page.pfn(), Vma.PTE_ACCESSED));
        }
        m.pageTableLock.spinUnlock();
        if (own) {
            swap.deleteFromSwapCache(page);
        }
    }

    /** do_wp_page() for a private page mapped read-only (a swap-cache page, or one being written out). */
    private void doWpPage(Process22 p, Vma v, int idx) {
        MmStruct m = p.mm();
        SwapState swap = mm.swap();
        m.pageTableLock.spinLock();
        long pte = v.pte(idx);
        if (!Vma.present(pte) || (pte & Vma.PTE_RW) != 0) {
            m.pageTableLock.spinUnlock();
            return;
        }
        int pfn = Vma.ptePfn(pte);
        Page22 page = mm.page(pfn);
        int count = mm.pageCount(pfn);
        if (count == 1 && !page.swapCache()) {
            v.setPte(idx, pte | Vma.PTE_RW | Vma.PTE_DIRTY);
            m.pageTableLock.spinUnlock();
            return;
        }
        if (count == 2 && page.swapCache() && !page.locked() && swap.swapCount(page.offset()) == 1) {
            v.setPte(idx, pte | Vma.PTE_RW | Vma.PTE_DIRTY);
            m.pageTableLock.spinUnlock();
            swap.deleteFromSwapCache(page);
            return;
        }
        mm.getPage(pfn);
        m.pageTableLock.spinUnlock();
        // Copy on write: the old page stays with the swap cache or its IO.
        int npfn = mm.getFreePage(Gfp22.GFP_USER);
        if (npfn < 0) {
            mm.freePage(pfn);
            oom(p, "do_wp_page");
        }
        mm.mem().memcpy(mm.mem().pageAddress(npfn), mm.mem().pageAddress(pfn), PhysMem.PAGE_SIZE);
        m.pageTableLock.spinLock();
        boolean same = v.pte(idx) == pte && !v.dead;
        if (same) {
            v.setPte(idx, Vma.mkPte(npfn, Vma.PTE_RW | Vma.PTE_ACCESSED | Vma.PTE_DIRTY));
        }
        m.pageTableLock.spinUnlock();
        mm.freePage(pfn);
        if (same) {
            mm.freePage(pfn);
        } else {
            mm.freePage(npfn);
        }
    }

    private static void oom(Process22 p, String where) {
        p.kill("out of memory in " + where);
        throw new UserFault("SIGKILL", "VM: killing process " + p.task().comm() + " (out of memory in " + where + ")");
    }

    private static void checkCurrent(Process22 p, String what) {
        if (Task.current() != p.task()) {
            throw new IllegalStateException(what + " of " + p + " from " + Task.current() + ": a process touches its own memory");
        }
    }
}
