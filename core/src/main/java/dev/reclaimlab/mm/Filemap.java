package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Waitable;

import static dev.reclaimlab.kernel.Errno.EEXIST;
import static dev.reclaimlab.kernel.Errno.EINTR;
import static dev.reclaimlab.kernel.Errno.EIO;
import static dev.reclaimlab.kernel.Errno.ENOMEM;
import static dev.reclaimlab.mm.MemMap.NO_PFN;
import static dev.reclaimlab.mm.PageFlags.PG_active;
import static dev.reclaimlab.mm.PageFlags.PG_dirty;
import static dev.reclaimlab.mm.PageFlags.PG_locked;
import static dev.reclaimlab.mm.PageFlags.PG_private;
import static dev.reclaimlab.mm.PageFlags.PG_reclaim;
import static dev.reclaimlab.mm.PageFlags.PG_uptodate;
import static dev.reclaimlab.mm.PageFlags.PG_writeback;

/**
 * mm/filemap.c and the page-state half of mm/page-writeback.c: page lock, dirty and writeback state,
 * inserting pages into and finding them in an inode's cache, reading a page through the filesystem, and
 * truncation. Page numbers are pfns; functions that can fail return a negative errno.
 */
public final class Filemap {
    /**
     * Before 3.16 generic_perform_write() called mark_page_accessed() on every page it copied into, so a page
     * written once is PG_referenced. 3.16 dropped the call and marks the page at lookup instead
     * (grab_cache_page_write_begin() with FGP_ACCESSED), which the emulator's later kernels do not model:
     * their written pages stay unreferenced, as xfs-on-loop was built and measured.
     */
    public static final Fix PERFORM_WRITE_NOT_ACCESSED = Fix.declare("perform_write_not_accessed",
            "generic_perform_write() no longer calls mark_page_accessed() on each page it copied into",
            "2457aec63745 mm: non-atomically mark page accessed during page cache allocation where possible"
                    + " (Mel Gorman, 3.16)",
            new KernelVersion(3, 16));

    private final Kernel kernel;
    private final Mm mm;
    private final MemMap map;
    private final PageWait pageWait;
    private final Lru lru;
    private final GenericFileRead genericRead;

    Filemap(Kernel kernel, Mm mm, MemMap map, PageWait pageWait, Lru lru) {
        this.kernel = kernel;
        this.mm = mm;
        this.map = map;
        this.pageWait = pageWait;
        this.lru = lru;
        this.genericRead = new GenericFileRead(mm, this);
    }

    // ---------------------------------------------------------------- checks at the public boundary

    /** A pfn the caller may look at: inside mem_map, kernel not closed. */
    private void checkPfn(int pfn, String who) {
        mm.mem().checkPfn(pfn, who);
    }

    /**
     * A page the caller may change: one it holds a reference on (the head of a live allocation), and not a
     * slab page, whose PG_locked is SLUB's slab_lock() and whose words are the allocator's.
     */
    private void checkPageInUse(int pfn, String who) {
        checkPfn(pfn, who);
        if (map.state(pfn) != MemMap.STATE_ALLOC || map.refcount(pfn) <= 0 || map.testFlag(pfn, PageFlags.PG_slab)) {
            throw new IllegalArgumentException(who + ": pfn " + pfn + " is not a page the caller holds (it is "
                    + (map.testFlag(pfn, PageFlags.PG_slab) ? "a slab page" : PageChecks.describe(map, pfn)) + ")");
        }
    }

    /** A mapping of this kernel that was not destroyed. */
    private void checkMapping(AddressSpace mapping, String who) {
        if (mapping == null || mapping.mm != mm || mapping.destroyed()) {
            throw badMapping(mapping, who);
        }
    }

    private RuntimeException badMapping(AddressSpace mapping, String who) {
        if (mapping == null) {
            return new IllegalArgumentException(who + ": mapping is null");
        }
        if (mapping.mm != mm) {
            return new IllegalArgumentException(who + "(" + mapping + "): the mapping belongs to another kernel");
        }
        return new IllegalStateException(who + "(" + mapping + "): mapping was destroyed");
    }

    private static void checkIndex(AddressSpace mapping, long index, String who) {
        if (index < 0) {
            throw new IllegalArgumentException(who + "(" + mapping + "): negative index " + index);
        }
    }

    // ---------------------------------------------------------------- page lock

    /** trylock_page(). */
    public boolean trylockPage(int pfn) {
        checkPageInUse(pfn, "trylockPage");
        return trylockPageUnchecked(pfn);
    }

    private boolean trylockPageUnchecked(int pfn) {
        if (map.testAndSetFlag(pfn, PG_locked)) {
            map.setLockOwner(pfn, kernel.currentTask().pid());
            return true;
        }
        return false;
    }

    /** lock_page(): sleeps in D state until the page lock is ours. */
    public void lockPage(int pfn) {
        checkPageInUse(pfn, "lockPage");
        lockPageUnchecked(pfn);
    }

    private void lockPageUnchecked(int pfn) {
        if (!trylockPageUnchecked(pfn)) {
            kernel.currentTask();
            pageWait.waitOnPageBit(pfn, PG_locked, true);
        }
    }

    /**
     * lock_page_killable(): as {@link #lockPage} in TASK_KILLABLE. 0 with the lock held, or -EINTR if a
     * fatal signal ended the wait.
     */
    public int lockPageKillable(int pfn) {
        if (trylockPage(pfn)) {
            return 0;
        }
        kernel.currentTask();
        return pageWait.lockPageKillable(pfn) ? 0 : -EINTR;
    }

    /** unlock_page(). */
    public void unlockPage(int pfn) {
        checkPageInUse(pfn, "unlockPage");
        if (!map.testFlag(pfn, PG_locked)) {
            throw new IllegalStateException("unlock_page(pfn " + pfn + "): page is not locked");
        }
        if (map.lockOwner(pfn) == PageWait.IO_OWED) {
            pageWait.forgetIo(pfn, PG_locked);
        }
        map.setLockOwner(pfn, 0);
        map.clearFlag(pfn, PG_locked);
        pageWait.wakeUpPage(pfn);
    }

    /**
     * A page locked for IO is unlocked by the IO's completion: {@code owner}, the task now holding the bio,
     * owes the unlock, and waiters on the page lock name it to the watchdog.
     */
    public void setPageLockOwner(int pfn, Task owner) {
        checkPageInUse(pfn, "setPageLockOwner");
        if (map.testFlag(pfn, PG_locked)) {
            map.setLockOwner(pfn, owner == null ? 0 : owner.pid());
        }
    }

    /**
     * A page locked for IO is unlocked by the IO's completion, which {@code io} (a bio) owes: waiters on
     * the page lock name whoever it names when the watchdog asks, e.g. every worker that could take the
     * bio off a queue.
     */
    public void setPageLockOwedBy(int pfn, Waitable io) {
        if (map.testFlag(pfn, PG_locked)) {
            pageWait.setIoOwner(pfn, PG_locked, io);
            map.setLockOwner(pfn, PageWait.IO_OWED);
        }
    }

    public boolean pageLocked(int pfn) {
        checkPfn(pfn, "pageLocked");
        return map.testFlag(pfn, PG_locked);
    }

    // ---------------------------------------------------------------- page state

    public boolean pageUptodate(int pfn) {
        checkPfn(pfn, "pageUptodate");
        return map.testFlag(pfn, PG_uptodate);
    }

    public void setPageUptodate(int pfn) {
        checkPageInUse(pfn, "setPageUptodate");
        map.setFlag(pfn, PG_uptodate);
    }

    /** PageReadahead(): the marker that starts the next readahead window when a read reaches it. */
    public boolean pageReadahead(int pfn) {
        return map.testFlag(pfn, PageFlags.PG_readahead) && !map.testFlag(pfn, PG_writeback);
    }

    public boolean pageDirty(int pfn) {
        checkPfn(pfn, "pageDirty");
        return map.testFlag(pfn, PG_dirty);
    }

    public boolean pageWriteback(int pfn) {
        checkPfn(pfn, "pageWriteback");
        return map.testFlag(pfn, PG_writeback);
    }

    /** SetPagePrivate(): the filesystem keeps data on the page; reclaim must call releasepage(). */
    public void setPagePrivate(int pfn) {
        checkPageInUse(pfn, "setPagePrivate");
        map.setFlag(pfn, PG_private);
    }

    public void clearPagePrivate(int pfn) {
        checkPageInUse(pfn, "clearPagePrivate");
        map.clearFlag(pfn, PG_private);
    }

    public boolean pagePrivate(int pfn) {
        checkPfn(pfn, "pagePrivate");
        return map.testFlag(pfn, PG_private);
    }

    /**
     * wait_on_page_bit_killable_timeout(page, bit, timeout) (3.18): nfs_release_page()'s bounded wait for
     * PG_private. Returns Sleep.DONE, TIMED_OUT or KILLED.
     */
    public int waitOnPageBitKillableTimeout(int pfn, int bit, long nanos) {
        checkPfn(pfn, "waitOnPageBitKillableTimeout");
        kernel.currentTask();
        return pageWait.waitOnPageBitKillableTimeout(pfn, bit, nanos);
    }

    /** wake_up_page(page, bit): waiters on any bit of the page recheck (3.18 exports it for PG_private). */
    public void wakeUpPage(int pfn) {
        checkPfn(pfn, "wakeUpPage");
        pageWait.wakeUpPage(pfn);
    }

    /** The page's mapping, or null for a page not in any page cache (truncated). */
    public AddressSpace pageMapping(int pfn) {
        checkPfn(pfn, "pageMapping");
        return mm.mappingById(map.mapping(pfn));
    }

    public long pageIndex(int pfn) {
        checkPfn(pfn, "pageIndex");
        return map.index(pfn);
    }

    /**
     * __set_page_dirty_nobuffers(): a page of a page cache counts in nr_dirty and puts its inode on the
     * dirty list; a page outside any cache only gets the bit, as in the kernel.
     */
    public boolean setPageDirty(int pfn) {
        checkPageInUse(pfn, "setPageDirty");
        if (!map.testAndSetFlag(pfn, PG_dirty)) {
            return false;
        }
        AddressSpace m = mm.mappingById(map.mapping(pfn));
        if (m != null) {
            mm.modState(VmStatItem.NR_DIRTY, 1);
            mm.modState(VmStatItem.NR_DIRTIED, 1);
            m.bdi().dirty.incrementAndGet();
            mm.writeback().markInodeDirty(m);
        }
        return true;
    }

    /** clear_page_dirty_for_io(): the caller holds the page lock and is about to write the page. */
    public boolean clearPageDirtyForIo(int pfn) {
        checkPageInUse(pfn, "clearPageDirtyForIo");
        if (!map.testFlag(pfn, PG_dirty)) {
            return false;
        }
        map.clearFlag(pfn, PG_dirty);
        AddressSpace m = mm.mappingById(map.mapping(pfn));
        if (m != null) {
            mm.modState(VmStatItem.NR_DIRTY, -1);
            m.bdi().dirty.decrementAndGet();
        }
        return true;
    }

    /**
     * set_page_writeback(): IO on the page has started; {@code owner} is the task that will complete it
     * (the one holding the bio), so the watchdog can follow a wait on this page to it. Null if unknown.
     */
    public void setPageWriteback(int pfn, Task owner) {
        checkPageInUse(pfn, "setPageWriteback");
        if (map.testAndSetFlag(pfn, PG_writeback)) {
            map.setWritebackOwner(pfn, owner == null ? 0 : owner.pid());
            mm.modState(VmStatItem.NR_WRITEBACK, 1);
            AddressSpace m = mm.mappingById(map.mapping(pfn));
            if (m != null) {
                m.bdi().writeback.incrementAndGet();
            }
        }
    }

    /** The task now owed the page's writeback completion changed (the bio moved to another worker). */
    public void setPageWritebackOwner(int pfn, Task owner) {
        checkPageInUse(pfn, "setPageWritebackOwner");
        map.setWritebackOwner(pfn, owner == null ? 0 : owner.pid());
    }

    /** The page's writeback is owed by {@code io} (a bio): waiters name whoever it names when asked. */
    public void setPageWritebackOwedBy(int pfn, Waitable io) {
        if (map.testFlag(pfn, PG_writeback)) {
            pageWait.setIoOwner(pfn, PG_writeback, io);
            map.setWritebackOwner(pfn, PageWait.IO_OWED);
        }
    }

    /**
     * end_page_writeback(): a page reclaim wanted (PG_reclaim) goes to the inactive tail so the next scan
     * frees it; waiters wake.
     */
    public void endPageWriteback(int pfn) {
        checkPageInUse(pfn, "endPageWriteback");
        if (!map.testFlag(pfn, PG_writeback)) {
            throw new IllegalStateException("end_page_writeback(pfn " + pfn + "): page is not under writeback");
        }
        if (map.testFlag(pfn, PG_reclaim)) {
            map.clearFlag(pfn, PG_reclaim);
            lru.rotateReclaimablePage(pfn);
        }
        AddressSpace m = mm.mappingById(map.mapping(pfn));
        if (m != null) {
            m.bdi().writeback.decrementAndGet();
        }
        if (map.writebackOwner(pfn) == PageWait.IO_OWED) {
            pageWait.forgetIo(pfn, PG_writeback);
        }
        map.setWritebackOwner(pfn, 0);
        map.clearFlag(pfn, PG_writeback);
        mm.modState(VmStatItem.NR_WRITEBACK, -1);
        mm.modState(VmStatItem.NR_WRITTEN, 1);
        pageWait.wakeUpPage(pfn);
    }

    /** wait_on_page_writeback(). */
    public void waitOnPageWriteback(int pfn) {
        checkPfn(pfn, "waitOnPageWriteback");
        waitOnPageWritebackUnchecked(pfn);
    }

    private void waitOnPageWritebackUnchecked(int pfn) {
        if (map.testFlag(pfn, PG_writeback)) {
            kernel.currentTask();
            pageWait.waitOnPageBit(pfn, PG_writeback, false);
        }
    }

    /** mark_page_accessed(). */
    public void markPageAccessed(int pfn) {
        checkPageInUse(pfn, "markPageAccessed");
        lru.markPageAccessed(pfn);
    }

    /**
     * generic_perform_write() between the copy and ->write_end(): mark_page_accessed(page), unless the kernel
     * has {@link #PERFORM_WRITE_NOT_ACCESSED}. For a filesystem's buffered write loop, on the locked page.
     */
    public void performWriteMarkAccessed(int pfn) {
        if (!kernel.config().has(PERFORM_WRITE_NOT_ACCESSED)) {
            markPageAccessed(pfn);
        }
    }

    // ---------------------------------------------------------------- the cache

    /**
     * add_to_page_cache_lru() as in Linux 4.3: locks the new page (ours, in no cache) and inserts it at
     * {@code index}, then puts it on the LRU. {@code gfp} is what radix_tree_maybe_preload() allocates the
     * tree's nodes with before the tree lock is taken, so this is where a page-cache fill can enter reclaim
     * (there is no memcg to charge in the emulator). On success the cache holds its own reference and the
     * caller keeps theirs, with the page locked. Returns 0, -EEXIST or -ENOMEM.
     */
    public int addToPageCacheLru(int pfn, AddressSpace mapping, long index, int gfp) {
        mm.pageAlloc().checkAllocated(pfn, 0, "addToPageCacheLru");
        checkMapping(mapping, "addToPageCacheLru");
        checkIndex(mapping, index, "addToPageCacheLru");
        if ((gfp & ~Gfp.__GFP_BITS_MASK) != 0) {
            Gfp.check(gfp, "addToPageCacheLru(" + mapping + ")");
        }
        long busy = map.flags(pfn) & NOT_NEW_PAGE_FLAGS;
        if (busy != 0 || map.mapping(pfn) != 0) {
            // __add_to_page_cache_locked() takes a new page: VM_BUG_ON_PAGE() in the kernel.
            throw new IllegalArgumentException("addToPageCacheLru(pfn " + pfn + ", " + mapping + ", " + index
                    + "): not a new page (" + (busy != 0 ? "flags " + PageFlags.format(busy) : "already in "
                    + pageMapping(pfn)) + ")");
        }
        // __set_page_locked(): nobody else can see the page yet.
        map.testAndSetFlag(pfn, PG_locked);
        map.setLockOwner(pfn, kernel.currentTask().pid());
        long shadow = addToPageCacheLocked(pfn, mapping, index, gfp);
        if (shadow < 0) {
            map.setLockOwner(pfn, 0);
            map.clearFlag(pfn, PG_locked);
            return (int) shadow;
        }
        // A page evicted only recently comes back active, as if it had never left (workingset_refault()).
        Workingset ws = mm.workingset();
        if (shadow != 0 && ws.workingsetRefault(shadow)) {
            map.setFlag(pfn, PG_active);
            ws.workingsetActivation();
        } else {
            map.clearFlag(pfn, PG_active);
        }
        lru.lruCacheAdd(pfn);
        AddToPageCacheTrace trace = addTrace;
        if (trace != null) {
            trace.addToPageCache(mapping, index, gfp);
        }
        return 0;
    }

    /**
     * __add_to_page_cache_locked(): preloads tree nodes with {@code gfp}, then inserts under the tree lock
     * with preemption off, taking the nodes from this CPU's preload. 0, the shadow the page replaced, or a
     * negative errno.
     */
    private long addToPageCacheLocked(int pfn, AddressSpace mapping, long index, int gfp) {
        RadixTreePreload preload = mm.radixTreePreload();
        int err = preload.radixTreeMaybePreload(gfp);
        if (err != 0) {
            return err;
        }
        try {
            map.addRefcount(pfn, 1);
            map.setMapping(pfn, mapping.id);
            map.setIndex(pfn, index);
            long r = mapping.pages.radixTreeInsert(index, pfn + 1L, preload, kernel.currentTask().cpu());
            if (r < 0) {
                map.setMapping(pfn, 0);
                map.addRefcount(pfn, -1);
                return r;
            }
            mm.modState(VmStatItem.NR_FILE_PAGES, 1);
            return r;
        } finally {
            preload.radixTreePreloadEnd();
        }
    }

    /** trace_mm_filemap_add_to_page_cache with the insert's gfp: a probe for tests and tools. */
    public interface AddToPageCacheTrace {
        void addToPageCache(AddressSpace mapping, long index, int gfp);
    }

    private volatile AddToPageCacheTrace addTrace;

    /** Tells {@code t} of every page added to any cache of this kernel, after it was added; null stops it. */
    public void setAddToPageCacheTrace(AddToPageCacheTrace t) {
        this.addTrace = t;
    }

    /** Where a read puts the bytes: copy_page_to_iter() of {@code n} bytes at kernel address {@code src}. */
    public interface ReadActor {
        void copyPageToIter(long src, int n);
    }

    /**
     * do_generic_file_read() as in Linux 4.3 ({@link GenericFileRead}): up to {@code len} bytes at
     * {@code pos} into {@code actor}, through readahead, short at i_size. The bytes read, or a negative
     * errno if none were. The caller holds whatever its filesystem's read_iter takes (XFS_IOLOCK_SHARED).
     */
    public long doGenericFileRead(AddressSpace mapping, FileRaState ra, long pos, long len, ReadActor actor) {
        if (mapping == null || ra == null || actor == null) {
            throw new IllegalArgumentException("doGenericFileRead: mapping, ra and actor are required");
        }
        if (pos < 0 || len < 0) {
            throw new IllegalArgumentException("doGenericFileRead(" + mapping + "): pos " + pos + ", len " + len);
        }
        return genericRead.doGenericFileRead(mapping, ra, pos, len, actor);
    }

    /** find_get_page(): the page at {@code index} with a reference, or -1. */
    public int findGetPage(AddressSpace mapping, long index) {
        checkMapping(mapping, "findGetPage");
        return pagecacheGetPage(mapping, index);
    }

    /** pagecache_get_page() for callers that checked the mapping: the lookup itself, unchecked. */
    int pagecacheGetPage(AddressSpace mapping, long index) {
        for (;;) {
            long v = mapping.pages.xaLoad(index);
            if (v == 0 || XArray.isExceptional(v)) {
                return NO_PFN;
            }
            int pfn = (int) (v - 1);
            if (!map.getPageUnlessZero(pfn)) {
                continue;
            }
            // find_get_entry()'s recheck: still this mapping's page at this index (a slab page's mapping word
            // holds its cache, so PG_slab rules it out), else it was truncated and maybe reused meanwhile.
            if (!map.testFlag(pfn, PageFlags.PG_slab) && map.mapping(pfn) == mapping.id && map.index(pfn) == index) {
                return pfn;
            }
            mm.pageAlloc().putPageSpeculative(pfn);
        }
    }

    /** find_lock_page(): as {@link #findGetPage}, locked, still in this mapping. */
    public int findLockPage(AddressSpace mapping, long index) {
        checkMapping(mapping, "findLockPage");
        return findLockPageUnchecked(mapping, index);
    }

    private int findLockPageUnchecked(AddressSpace mapping, long index) {
        for (;;) {
            int pfn = pagecacheGetPage(mapping, index);
            if (pfn == NO_PFN) {
                return NO_PFN;
            }
            lockPageUnchecked(pfn);
            if (map.mapping(pfn) == mapping.id && map.index(pfn) == index) {
                return pfn;
            }
            unlockPage(pfn);
            mm.pageAlloc().putPage(pfn);
        }
    }

    /**
     * grab_cache_page_write_begin(): the locked page at {@code index}, allocated with the mapping's gfp
     * mask if absent. Returns the pfn or -ENOMEM.
     */
    public int grabCachePageWriteBegin(AddressSpace mapping, long index) {
        checkMapping(mapping, "grabCachePageWriteBegin");
        checkIndex(mapping, index, "grabCachePageWriteBegin");
        for (;;) {
            int pfn = findLockPageUnchecked(mapping, index);
            if (pfn != NO_PFN) {
                return pfn;
            }
            int gfp = mapping.mappingGfpMask();
            pfn = mm.allocPages(gfp, 0);
            if (pfn == NO_PFN) {
                return -ENOMEM;
            }
            int err = addToPageCacheLru(pfn, mapping, index, gfp);
            if (err == 0) {
                return pfn;
            }
            mm.pageAlloc().putPage(pfn);
            if (err != -EEXIST) {
                return err;
            }
        }
    }

    /**
     * page_cache_read() + lock/wait: the uptodate page at {@code index} with a reference, reading it
     * through the filesystem if absent. {@code gfp} is what the new page and its tree nodes are
     * allocated with: GFP_KERNEL in the 2015 mpage_readpages(), the mapping's mask once fixed. A cached
     * page that an earlier failed read left !uptodate is read again. Returns the pfn, -ENOMEM or -EIO.
     */
    public int readCachePage(AddressSpace mapping, long index, int gfp) {
        checkMapping(mapping, "readCachePage");
        checkIndex(mapping, index, "readCachePage");
        if ((gfp & ~Gfp.__GFP_BITS_MASK) != 0) {
            Gfp.check(gfp, "readCachePage(" + mapping + ")");
        }
        for (;;) {
            int pfn = findGetPage(mapping, index);
            boolean fresh = pfn == NO_PFN;
            if (fresh) {
                pfn = mm.allocPages(gfp, 0);
                if (pfn == NO_PFN) {
                    return -ENOMEM;
                }
                int err = addToPageCacheLru(pfn, mapping, index, gfp);
                if (err != 0) {
                    mm.pageAlloc().putPage(pfn);
                    if (err == -EEXIST) {
                        continue;
                    }
                    return err;
                }
                err = mapping.aops().readpage(mapping, pfn);
                if (err < 0) {
                    mm.pageAlloc().putPage(pfn);
                    return err;
                }
            }
            if (!pageUptodate(pfn)) {
                lockPage(pfn);
                if (map.mapping(pfn) != mapping.id) {
                    unlockPage(pfn);
                    mm.pageAlloc().putPage(pfn);
                    continue;
                }
                if (!fresh && !pageUptodate(pfn)) {
                    // An earlier read of this page failed: read it again (do_generic_file_read()'s readpage:).
                    int err = mapping.aops().readpage(mapping, pfn);
                    if (err < 0) {
                        mm.pageAlloc().putPage(pfn);
                        return err;
                    }
                    lockPage(pfn);
                }
                boolean ok = pageUptodate(pfn);
                unlockPage(pfn);
                if (!ok) {
                    mm.pageAlloc().putPage(pfn);
                    return -EIO;
                }
            }
            markPageAccessed(pfn);
            return pfn;
        }
    }

    /** Flags a page handed to add_to_page_cache_lru() must not have: it is new, nobody else knows it. */
    private static final long NOT_NEW_PAGE_FLAGS = 1L << PG_locked | 1L << PG_dirty | 1L << PG_writeback
            | 1L << PageFlags.PG_lru | 1L << PG_private | 1L << PageFlags.PG_slab | 1L << PageFlags.PG_large_kmalloc;

    /** put_page() for a page-cache page reference. */
    public void putPage(int pfn) {
        mm.pageAlloc().putPage(pfn);
    }

    /**
     * __remove_mapping(reclaimed): reclaim's removal of a clean, unlocked-by-others page: succeeds only when
     * the cache's and reclaim's references are the only ones, taking the count to zero so nobody can find
     * it, and leaves a shadow entry in its slot (workingset_eviction()) unless the inode is being evicted.
     */
    boolean removeMapping(AddressSpace mapping, int pfn) {
        if (!map.refFreeze(pfn, 2)) {
            return false;
        }
        if (map.testFlag(pfn, PG_dirty)) {
            map.setRefcount(pfn, 2);
            return false;
        }
        if (mapping.exiting()) {
            mapping.pages.xaErase(map.index(pfn));
        } else {
            mapping.pages.replaceWithShadow(map.index(pfn), mm.workingset().workingsetEviction());
        }
        map.setMapping(pfn, 0);
        mm.modState(VmStatItem.NR_FILE_PAGES, -1);
        return true;
    }

    /**
     * clear_exceptional_entry(): a shadow at {@code index} is dropped (its leaf leaves the shadow list, or is
     * freed). True if there was one.
     */
    private boolean clearExceptionalEntry(AddressSpace mapping, long index) {
        long v = mapping.pages.xaLoad(index);
        if (!XArray.isExceptional(v)) {
            return false;
        }
        mapping.pages.xaEraseIf(index, v);
        return true;
    }

    /**
     * truncate_inode_pages_range(): removes every page from {@code from} on, waiting for each page's lock
     * and writeback as the kernel does.
     */
    public void truncateInodePages(AddressSpace mapping, long from) {
        checkMapping(mapping, "truncateInodePages");
        checkIndex(mapping, from, "truncateInodePages");
        truncateInodePagesUnchecked(mapping, from);
    }

    /** truncate_inode_pages_range() for a mapping being destroyed (evict() marks it dying first). */
    void truncateInodePagesUnchecked(AddressSpace mapping, long from) {
        for (long index = mapping.pages.xaFind(from); index >= 0; index = mapping.pages.xaFindAfter(index)) {
            if (clearExceptionalEntry(mapping, index)) {
                continue;
            }
            int pfn = findLockPageUnchecked(mapping, index);
            if (pfn == NO_PFN) {
                continue;
            }
            waitOnPageWritebackUnchecked(pfn);
            if (clearPageDirtyForIo(pfn)) {
                map.clearFlag(pfn, PG_reclaim);
            }
            if (pagePrivate(pfn)) {
                mapping.aops().invalidatepage(mapping, pfn);
                clearPagePrivate(pfn);
            }
            mapping.pages.xaErase(index);
            map.setMapping(pfn, 0);
            mm.modState(VmStatItem.NR_FILE_PAGES, -1);
            unlockPage(pfn);
            putPage(pfn);
            putPage(pfn);
        }
    }

    /**
     * invalidate_mapping_pages(): drops the clean, unlocked pages nobody else uses from {@code from} on,
     * never waiting; dirty, locked, mapped-elsewhere and writeback pages stay. Returns the pages left.
     */
    public long invalidateMappingPages(AddressSpace mapping, long from) {
        checkMapping(mapping, "invalidateMappingPages");
        checkIndex(mapping, from, "invalidateMappingPages");
        for (long index = mapping.pages.xaFind(from); index >= 0; index = mapping.pages.xaFindAfter(index)) {
            if (clearExceptionalEntry(mapping, index)) {
                continue;
            }
            int pfn = pagecacheGetPage(mapping, index);
            if (pfn == NO_PFN) {
                continue;
            }
            if (!trylockPage(pfn)) {
                putPage(pfn);
                continue;
            }
            if (map.mapping(pfn) != mapping.id || map.testFlag(pfn, PG_dirty) || map.testFlag(pfn, PG_writeback)
                    || (pagePrivate(pfn) && !mapping.aops().releasepage(mapping, pfn, 0))) {
                unlockPage(pfn);
                putPage(pfn);
                continue;
            }
            clearPagePrivate(pfn);
            mapping.pages.xaErase(index);
            map.setMapping(pfn, 0);
            mm.modState(VmStatItem.NR_FILE_PAGES, -1);
            unlockPage(pfn);
            putPage(pfn);
            putPage(pfn);
        }
        return mapping.nrpages();
    }
}
