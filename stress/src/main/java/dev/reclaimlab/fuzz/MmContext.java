package dev.reclaimlab.fuzz;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.mm.AddressSpace;
import dev.reclaimlab.mm.Filemap;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.KmallocCaches;
import dev.reclaimlab.mm.KmemCache;
import dev.reclaimlab.mm.Mm;
import dev.reclaimlab.mm.PhysMem;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The mm fuzz's model of what it holds in its quiet kernel (no kswapd, no watchdog; only the fuzz thread
 * allocates): the blocks it has references on and their state, its objects and caches, its mappings, and
 * what it freed since the last allocation. Every group of operations shares one model (the copy
 * constructor), so an invalid call is made only when the model is certain it is invalid.
 */
abstract class MmContext {
    static final int[] VALID_GFPS = {Gfp.GFP_KERNEL, Gfp.GFP_NOFS, Gfp.GFP_NOIO, Gfp.GFP_ATOMIC, Gfp.GFP_NOWAIT,
        Gfp.GFP_KERNEL | Gfp.__GFP_ZERO, Gfp.GFP_KERNEL | Gfp.__GFP_NORETRY | Gfp.__GFP_NOWARN, Gfp.GFP_HIGHUSER};
    // Bad gfps are derived from the mask the emulator accepts, so a bit that becomes valid (__GFP_COLD with
    // the 4.3 read path, __GFP_NOLOCKDEP with lockdep) cannot turn a "bad" call into a silent success that
    // leaves a page locked for a later valid call to wait on.
    static final int[] BAD_GFPS = badGfps();
    static final int MAX_PAGES = 1200;
    static final int MAX_OBJS = 3000;
    static final int MAX_CACHES = 8;

    /** A block the fuzz holds references on; order-0 pages also carry the state the fuzz gave them. */
    static final class Page {
        final int pfn;
        final int order;
        int refs = 1;
        boolean locked;
        boolean writeback;
        boolean dirty;
        boolean privateFlag;
        /** Ever in a page cache: PG_lru stays until the last put, so it is never a new page again. */
        boolean everCached;
        AddressSpace cache;
        long index;

        Page(int pfn, int order) {
            this.pfn = pfn;
            this.order = order;
        }

        @Override
        public String toString() {
            return "pfn " + pfn + "/" + order;
        }
    }

    /** An object the fuzz holds: kmalloc'ed (cache null) or from one of its caches. */
    static final class Obj {
        final long addr;
        final long size;
        final KmemCache cache;

        Obj(long addr, long size, KmemCache cache) {
            this.addr = addr;
            this.size = size;
            this.cache = cache;
        }

        @Override
        public String toString() {
            return String.format("0x%x(%d%s)", addr, size, cache == null ? "" : "," + cache.name());
        }
    }

    final Harness h;
    final SplittableRandom r;
    final Kernel k;
    final Mm mm;
    final Filemap fm;
    final PhysMem mem;
    final int nrPages;
    final KmemCache foreignCache;
    final AddressSpace foreignMapping;

    final List<Page> pages;
    final Map<Integer, Page> byPfn;
    final List<Obj> objs;
    /** Objects freed since the last call that may allocate: certainly free still. */
    final List<Obj> recentObjs;
    final List<KmemCache> caches;
    final Map<KmemCache, Integer> liveInCache;
    final List<KmemCache> deadCaches;
    final AddressSpace[] mappings;
    final List<AddressSpace> deadMappings;

    /** The model, made once by {@link MmFuzz}. */
    MmContext(Harness h, SplittableRandom r, Kernel k, Kernel foreign) {
        this.h = h;
        this.r = r;
        this.k = k;
        this.mm = k.mm();
        this.fm = mm.filemap();
        this.mem = mm.mem();
        this.nrPages = mem.nrPages();
        this.foreignCache = foreign.mm().kmemCacheCreate("foreign", 64, 0, 0);
        this.foreignMapping = foreign.mm().addressSpaceCreate("foreign-file", new RamAops(foreign.mm()));
        this.pages = new ArrayList<>();
        this.byPfn = new HashMap<>();
        this.objs = new ArrayList<>();
        this.recentObjs = new ArrayList<>();
        this.caches = new ArrayList<>();
        this.liveInCache = new HashMap<>();
        this.deadCaches = new ArrayList<>();
        this.mappings = new AddressSpace[2];
        this.deadMappings = new ArrayList<>();
        for (int i = 0; i < mappings.length; i++) {
            mappings[i] = mm.addressSpaceCreate("fuzz-file" + i, new RamAops(mm));
        }
    }

    /** A group of operations working on the same model. */
    MmContext(MmContext c) {
        this.h = c.h;
        this.r = c.r;
        this.k = c.k;
        this.mm = c.mm;
        this.fm = c.fm;
        this.mem = c.mem;
        this.nrPages = c.nrPages;
        this.foreignCache = c.foreignCache;
        this.foreignMapping = c.foreignMapping;
        this.pages = c.pages;
        this.byPfn = c.byPfn;
        this.objs = c.objs;
        this.recentObjs = c.recentObjs;
        this.caches = c.caches;
        this.liveInCache = c.liveInCache;
        this.deadCaches = c.deadCaches;
        this.mappings = c.mappings;
        this.deadMappings = c.deadMappings;
    }

    boolean valid() {
        return r.nextInt(100) < 70;
    }

    <T> T pick(List<T> l) {
        return l.get(r.nextInt(l.size()));
    }

    private static int[] badGfps() {
        int unknown = ~Gfp.__GFP_BITS_MASK;
        if (unknown == 0) {
            throw new IllegalStateException("fuzz: every gfp bit is valid, no bad gfp to try");
        }
        int low = Integer.lowestOneBit(unknown);
        int high = Integer.highestOneBit(unknown);
        int mid = Integer.lowestOneBit(unknown & ~low & ~high);
        return mid == 0 ? new int[] {low, high, -1, Gfp.GFP_KERNEL | low, Gfp.GFP_KERNEL | high}
                : new int[] {low, mid, high, -1, Gfp.GFP_KERNEL | low, Gfp.GFP_KERNEL | mid, Gfp.GFP_KERNEL | high};
    }

    int gfp(boolean valid) {
        return valid ? VALID_GFPS[r.nextInt(VALID_GFPS.length)] : BAD_GFPS[r.nextInt(BAD_GFPS.length)];
    }

    int badPfn() {
        switch (r.nextInt(5)) {
            case 0:
                return -1;
            case 1:
                return nrPages;
            case 2:
                return Integer.MAX_VALUE;
            case 3:
                return Integer.MIN_VALUE;
            default:
                return nrPages + r.nextInt(1 << 20);
        }
    }

    /**
     * A pfn in a free buddy block (not merely refcount 0: a tail page of a slab has that too, and its address
     * can be an object's): certain in this quiet kernel. -1 when none was found quickly.
     */
    int freePfn() {
        for (int i = 0; i < 16; i++) {
            int pfn = r.nextInt(nrPages);
            if (mm.pageAlloc().pageCount(pfn) == 0 && mm.pageAlloc().freeBlockOrderContaining(pfn) >= 0) {
                return pfn;
            }
        }
        return -1;
    }

    void allocated() {
        recentObjs.clear();
    }

    void track(Page p) {
        pages.add(p);
        byPfn.put(p.pfn, p);
    }

    void untrack(Page p) {
        pages.remove(p);
        byPfn.remove(p.pfn);
    }

    Page loosePage() {
        for (int i = 0; i < 8 && !pages.isEmpty(); i++) {
            Page p = pick(pages);
            if (p.order == 0 && p.cache == null) {
                return p;
            }
        }
        return null;
    }

    void dropRef(Page p) {
        if (--p.refs == 0) {
            untrack(p);
        }
    }

    Obj pickKmalloced() {
        for (int i = 0; i < 8 && !objs.isEmpty(); i++) {
            Obj o = pick(objs);
            if (o.cache == null) {
                return o;
            }
        }
        return null;
    }

    /** An address kfree()/ksize() must refuse; null if none is at hand. */
    Long badObjAddr() {
        int c = r.nextInt(7);
        Obj o = pickKmalloced();
        switch (c) {
            case 0:
                long[] wild = {1, PhysMem.PAGE_OFFSET - 4096, PhysMem.PAGE_OFFSET + mem.size(), Long.MIN_VALUE,
                    Long.MAX_VALUE, -8};
                return wild[r.nextInt(wild.length)];
            case 1:
                return o == null ? null : o.addr + 1 + r.nextInt(7);
            case 2:
                return o == null || o.size <= KmallocCaches.KMALLOC_MAX_CACHE_SIZE ? null : o.addr + PhysMem.PAGE_SIZE;
            case 3:
                return recentObjs.isEmpty() ? null : pick(recentObjs).addr;
            case 4: {
                Page p = pages.isEmpty() ? null : pick(pages);
                return p == null ? null : mem.pageAddress(p.pfn);
            }
            case 5: {
                int pfn = freePfn();
                return pfn < 0 ? null : mem.pageAddress(pfn);
            }
            default:
                return PhysMem.PAGE_OFFSET + r.nextLong(mem.size()) | 7;
        }
    }

    Obj pickCacheObj() {
        for (int i = 0; i < 8 && !objs.isEmpty(); i++) {
            Obj o = pick(objs);
            if (o.cache != null) {
                return o;
            }
        }
        return null;
    }

    long badObjAddrOutside() {
        long[] wild = {0, 16, PhysMem.PAGE_OFFSET - 8, PhysMem.PAGE_OFFSET + mem.size(), Long.MIN_VALUE, -1};
        return wild[r.nextInt(wild.length)];
    }

    /** [addr, addr+len) inside memory the fuzz owns, as {addr, len}. */
    long[] ownedRange() {
        if (!pages.isEmpty() && (objs.isEmpty() || r.nextBoolean())) {
            Page p = pick(pages);
            long bytes = (long) PhysMem.PAGE_SIZE << p.order;
            long off = r.nextLong(bytes);
            return new long[] {mem.pageAddress(p.pfn) + off, 1 + r.nextLong(bytes - off)};
        }
        if (!objs.isEmpty()) {
            Obj o = pick(objs);
            long off = r.nextLong(o.size);
            return new long[] {o.addr + off, 1 + r.nextLong(o.size - off)};
        }
        return null;
    }

    AddressSpace mapping() {
        return mappings[r.nextInt(mappings.length)];
    }

    long index() {
        int c = r.nextInt(10);
        return c < 8 ? r.nextInt(512) : c == 8 ? r.nextLong(1L << 40) : Long.MAX_VALUE - r.nextInt(1024);
    }

    /** Whether the fuzz holds a page of {@code m} locked or under writeback (at {@code index}, or any if -1). */
    boolean busyIn(AddressSpace m, long index) {
        for (Page p : pages) {
            if (p.cache == m && (p.locked || p.writeback) && (index < 0 || p.index == index)) {
                return true;
            }
        }
        return false;
    }

    /** A page of a cache the fuzz got from the cache (findGetPage and friends): one more reference. */
    void gotCachePage(int pfn, AddressSpace m, long index, boolean locked) {
        Page p = byPfn.get(pfn);
        if (p == null) {
            p = new Page(pfn, 0);
            track(p);
        } else {
            p.refs++;
        }
        p.cache = m;
        p.index = index;
        p.everCached = true;
        p.locked |= locked;
    }

    static boolean isBad(int gfp) {
        return (gfp & ~Gfp.__GFP_BITS_MASK) != 0;
    }

    /** A mapping every page-cache call refuses: none, destroyed, or another kernel's. */
    AddressSpace invalidMapping() {
        int c = r.nextInt(3);
        if (c == 0 && !deadMappings.isEmpty()) {
            return pick(deadMappings);
        }
        return c == 1 ? null : foreignMapping;
    }
}
