package dev.reclaimlab.swap;

import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.SpinLock;
import dev.reclaimlab.mm.Gfp22;
import dev.reclaimlab.mm.PhysMem;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The page cache of mm/filemap.c as in Linux 2.2.1: find_page(), add_to_page_cache(), remove_inode_page(),
 * do_generic_file_read() (without read-ahead), update_vm_cache(), filemap_nopage() for shared mappings, and
 * the shared-mapping write-out: filemap_swapout() and msync's filemap_sync() both reach
 * filemap_write_page(), which takes i_sem and calls the filesystem's write for the page (do_write_page(),
 * which never extends the file). In 2.2.1 that write runs in the caller, also when the caller is reclaim;
 * with {@link Kpiod#KPIOD} a swap-out is queued to kpiod instead, with {@link Kswiod#KSWIOD_PAGE_IO} to kswiod.
 * 2.2 protected these lists with the big kernel lock; here pagecache_lock does (2.4's name).
 */
public final class PageCache {
    private static final LockClassKey PAGECACHE_LOCK = new LockClassKey("pagecache_lock");

    private final Mm22 mm;
    private final SpinLock lock = new SpinLock("pagecache_lock", PAGECACHE_LOCK);
    private final AtomicLong pageCacheSize = new AtomicLong();

    PageCache(Mm22 mm) {
        this.mm = mm;
    }

    SpinLock lock() {
        return lock;
    }

    /** page_cache_size: pages in file page caches (the swap cache is counted apart). */
    public long pageCacheSize() {
        return pageCacheSize.get();
    }

    /** pgcache_under_min(): page_cache_size below page_cache.min_percent (2%) of num_physpages. */
    boolean pgcacheUnderMin() {
        return pageCacheSize.get() * 100 < 2L * mm.numPhyspages();
    }

    /** find_page(): the cached page with a reference taken, or null. */
    public Page22 findPage(Mapping22 m, long offset) {
        lock.spinLock();
        try {
            Page22 p = m.pages.get(offset);
            if (p != null) {
                mm.getPage(p.pfn());
            }
            return p;
        } finally {
            lock.spinUnlock();
        }
    }

    /**
     * add_to_page_cache(): the cache takes a reference; PG_uptodate and PG_error are cleared and
     * PG_referenced set. False when another page already caches that offset (the caller frees its own).
     */
    public boolean addToPageCache(Page22 page, Mapping22 m, long offset) {
        lock.spinLock();
        try {
            if (m.pages.containsKey(offset)) {
                return false;
            }
            mm.getPage(page.pfn());
            page.clear(Page22.PG_uptodate);
            page.clear(Page22.PG_error);
            page.set(Page22.PG_referenced);
            page.offset = offset;
            page.inode = m;
            m.pages.put(offset, page);
            if (!page.swapCache()) {
                pageCacheSize.incrementAndGet();
            }
            return true;
        } finally {
            lock.spinUnlock();
        }
    }

    /** Unhashes {@code page} from its inode under the lock; the caller drops the cache's reference. */
    void unhashLocked(Page22 page) {
        Mapping22 m = page.inode;
        if (m != null && m.pages.get(page.offset) == page) {
            m.pages.remove(page.offset);
            if (!page.swapCache()) {
                pageCacheSize.decrementAndGet();
            }
        }
        page.inode = null;
    }

    /** remove_inode_page(): unhash and drop the cache's reference. */
    public void removeInodePage(Page22 page) {
        lock.spinLock();
        try {
            unhashLocked(page);
        } finally {
            lock.spinUnlock();
        }
        mm.freePage(page.pfn());
    }

    /**
     * shrink_mmap()'s last step for a page-cache page: only while the cache's reference is the only one
     * (checked again under the lock, as the BKL made 2.2's check stick).
     */
    boolean tryRemoveForShrink(Page22 page) {
        lock.spinLock();
        try {
            Mapping22 m = page.inode;
            if (m == null || page.swapCache() || page.locked() || mm.pageCount(page.pfn()) != 1
                    || m.pages.get(page.offset) != page) {
                return false;
            }
            unhashLocked(page);
        } finally {
            lock.spinUnlock();
        }
        mm.freePage(page.pfn());
        return true;
    }

    /**
     * do_generic_file_read() without read-ahead: each page from the cache or, on a miss, a new
     * __get_free_page(GFP_USER) page read by readpage(); a page that is not uptodate is read once more.
     * Returns the bytes read, or -errno when nothing was (-EFAULT when the actor could not copy to the reader).
     */
    public long doGenericFileRead(File22 f, long pos, int count, ReadActor actor) {
        Mapping22 m = f.mapping();
        long done = 0;
        while (done < count) {
            long p = pos + done;
            long size = f.iSize();
            if (p >= size) {
                break;
            }
            long pgoff = p & ~(long) (PhysMem.PAGE_SIZE - 1);
            Page22 page = findPage(m, pgoff);
            if (page == null) {
                int pfn = mm.getFreePage(Gfp22.GFP_USER);
                if (pfn < 0) {
                    return done > 0 ? done : -Errno.ENOMEM;
                }
                Page22 np = mm.page(pfn);
                // Locked before it is visible: 2.2 did not sleep between add_to_page_cache() and readpage().
                np.set(Page22.PG_locked);
                if (!addToPageCache(np, m, pgoff)) {
                    np.clear(Page22.PG_locked);
                    mm.freePage(pfn);
                    continue;
                }
                int err = f.readpage(np);
                if (err != 0) {
                    mm.freePage(pfn);
                    return done > 0 ? done : err;
                }
                page = np;
            }
            page.waitOnPage();
            if (!page.uptodate()) {
                int err = rereadPage(f, page);
                if (err != 0) {
                    mm.freePage(page.pfn());
                    return done > 0 ? done : err;
                }
            }
            int off = (int) (p - pgoff);
            int nr = (int) Math.min(Math.min(PhysMem.PAGE_SIZE - off, size - p), count - done);
            int left = actor.actor(page.address() + off, done, nr);
            mm.freePage(page.pfn());
            done += nr - left;
            if (left != 0) {
                // file_read_actor(): desc->error = -EFAULT; what was read is returned, else the error.
                return done > 0 ? done : -Errno.EFAULT;
            }
        }
        return done;
    }

    /**
     * The "page_read_error" paths: a cached page that is not uptodate is read once more, synchronously. The
     * reader that locks it reads it; one that finds it locked waits for that read. 0, or -EIO.
     */
    private int rereadPage(File22 f, Page22 page) {
        for (int tries = 0; tries < 2 && !page.uptodate(); tries++) {
            if (page.testAndSet(Page22.PG_locked)) {
                page.waitOnPage();
                continue;
            }
            if (page.uptodate()) {
                page.unlockPage();
                return 0;
            }
            int err = f.readpage(page);
            if (err != 0) {
                return err;
            }
            page.waitOnPage();
            if (page.test(Page22.PG_error)) {
                return -Errno.EIO;
            }
        }
        return page.uptodate() ? 0 : -Errno.EIO;
    }

    /** update_vm_cache(): a write() keeps cached copies of the written range coherent. */
    public void updateVmCache(Mapping22 m, long pos, long srcKaddr, int count) {
        if (pos < 0 || count < 0) {
            throw new IllegalArgumentException("update_vm_cache of " + m + ": negative position " + pos + " or count "
                    + count);
        }
        mm.mem().checkRange(srcKaddr, count, "update_vm_cache of " + m);
        long off = pos & (PhysMem.PAGE_SIZE - 1);
        long pg = pos - off;
        int len = (int) (PhysMem.PAGE_SIZE - off);
        while (count > 0) {
            if (len > count) {
                len = count;
            }
            Page22 page = findPage(m, pg);
            if (page != null) {
                page.waitOnPage();
                long dst = page.address() + off;
                if (dst != srcKaddr) {
                    mm.mem().memcpy(dst, srcKaddr, len);
                }
                mm.freePage(page.pfn());
            }
            count -= len;
            srcKaddr += len;
            len = PhysMem.PAGE_SIZE;
            off = 0;
            pg += PhysMem.PAGE_SIZE;
        }
    }

    /**
     * filemap_nopage() without its no_share copy (the caller makes it): the cached page, read in if missing, with
     * a reference for the pte; -1 for SIGBUS (a shared mapping beyond i_size; a private one reads the page there,
     * holes, as 2.2.1's does) or when it cannot be read or allocated.
     */
    int filemapNopage(Vma vma, int idx) {
        File22 f = vma.file();
        Mapping22 m = f.mapping();
        long offset = vma.offset() + ((long) idx << PhysMem.PAGE_SHIFT);
        if (offset >= f.iSize() && vma.sharedFile()) {
            // Only a shared mapping past the end is SIGBUS; a private one gets the page read from the file (zeros).
            return -1;
        }
        Page22 page = findPage(m, offset);
        if (page == null) {
            int pfn = mm.getFreePage(Gfp22.GFP_USER);
            if (pfn < 0) {
                return -1;
            }
            page = findPage(m, offset);
            if (page != null) {
                mm.freePage(pfn);
            } else {
                Page22 np = mm.page(pfn);
                np.set(Page22.PG_locked);
                if (!addToPageCache(np, m, offset)) {
                    np.clear(Page22.PG_locked);
                    mm.freePage(pfn);
                    return filemapNopage(vma, idx);
                }
                if (f.readpage(np) != 0) {
                    mm.freePage(pfn);
                    return -1;
                }
                page = np;
            }
        }
        if (page.locked()) {
            page.waitOnPage();
        }
        if (!page.uptodate() && rereadPage(f, page) != 0) {
            mm.freePage(page.pfn());
            return -1;
        }
        return page.pfn();
    }

    /** filemap_swapout(): try_to_swap_out() has cleared the pte; write the page back to its file. */
    int filemapSwapout(Vma vma, Page22 page) {
        return filemapWritePage(vma.file(), page.offset, page, false);
    }

    /**
     * filemap_write_page(): with {@code wait} false (a swap-out) and kpiod or kswiod on, the page is queued
     * and nothing waits; otherwise i_sem, do_write_page() and up() run here, in the caller.
     */
    int filemapWritePage(File22 f, long offset, Page22 page, boolean wait) {
        if (!wait && mm.kpiod() != null) {
            mm.kpiod().makePioRequest(f, offset, page);
            return 0;
        }
        if (!wait && mm.kswiod() != null) {
            mm.kswiod().queueFilemap(f, offset, page);
            return 0;
        }
        f.fget();
        try {
            f.iSem().down();
            try {
                return doWritePage(f, page.address(), offset);
            } finally {
                f.iSem().up();
            }
        } finally {
            f.fput();
        }
    }

    /** do_write_page(): the filesystem's write of the page, refusing to extend the file. i_sem held. */
    int doWritePage(File22 f, long kaddr, long offset) {
        long size = offset + PhysMem.PAGE_SIZE;
        long isize = f.iSize();
        if (size > isize) {
            size = isize;
        }
        if (size < offset) {
            return -Errno.EIO;
        }
        int len = (int) (size - offset);
        return f.writeKernel(kaddr, len, offset) == len ? 0 : -Errno.EIO;
    }

    /** invalidate_inode_pages(): drops every cached page of {@code m} that is not locked or in use. */
    public int invalidateInodePages(Mapping22 m) {
        List<Page22> drop = new ArrayList<>();
        lock.spinLock();
        try {
            for (Page22 p : new ArrayList<>(m.pages.values())) {
                if (!p.locked() && mm.pageCount(p.pfn()) == 1) {
                    unhashLocked(p);
                    drop.add(p);
                }
            }
        } finally {
            lock.spinUnlock();
        }
        for (Page22 p : drop) {
            mm.freePage(p.pfn());
        }
        return drop.size();
    }

    /**
     * truncate_inode_pages(): drops every cached page at or beyond {@code start}, waiting for locked ones,
     * and zeroes the tail of a page that straddles it.
     */
    public void truncateInodePages(Mapping22 m, long start) {
        for (;;) {
            Page22 locked = null;
            List<Page22> drop = new ArrayList<>();
            lock.spinLock();
            try {
                for (Page22 p : m.pages.values()) {
                    if (p.offset >= start) {
                        if (p.locked()) {
                            locked = p;
                            mm.getPage(p.pfn());
                            break;
                        }
                        drop.add(p);
                    } else if (start - p.offset < PhysMem.PAGE_SIZE) {
                        int keep = (int) (start - p.offset);
                        mm.mem().memset(p.address() + keep, 0, PhysMem.PAGE_SIZE - keep);
                    }
                }
                if (locked == null) {
                    for (Page22 p : drop) {
                        unhashLocked(p);
                    }
                }
            } finally {
                lock.spinUnlock();
            }
            if (locked != null) {
                locked.waitOnPage();
                mm.freePage(locked.pfn());
                continue;
            }
            for (Page22 p : drop) {
                mm.freePage(p.pfn());
            }
            return;
        }
    }
}
