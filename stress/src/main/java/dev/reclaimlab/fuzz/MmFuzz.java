package dev.reclaimlab.fuzz;

import dev.reclaimlab.fuzz.Harness.Res;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.mm.AddressSpace;
import dev.reclaimlab.mm.AddressSpaceOperations;
import dev.reclaimlab.mm.Filemap;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.KmallocCaches;
import dev.reclaimlab.mm.KmemCache;
import dev.reclaimlab.mm.Mm;
import dev.reclaimlab.mm.PageAlloc;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.mm.SlabFlags;
import dev.reclaimlab.mm.WritebackControl;
import dev.reclaimlab.mm.XArray;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * The mm half of the fuzz on a quiet kernel (no kswapd, no watchdog; only the fuzz thread allocates): the
 * page allocator, slab and kmalloc, PhysMem, the page cache of two mappings with a RAM-backed aops, an
 * XArray checked against a shadow map, and calls with another kernel's caches and mappings. The model
 * knows every page, object and cache the fuzz holds, so each invalid call it makes is certainly invalid.
 */
final class MmFuzz {
    static final int[] VALID_GFPS = {Gfp.GFP_KERNEL, Gfp.GFP_NOFS, Gfp.GFP_NOIO, Gfp.GFP_ATOMIC, Gfp.GFP_NOWAIT,
        Gfp.GFP_KERNEL | Gfp.__GFP_ZERO, Gfp.GFP_KERNEL | Gfp.__GFP_NORETRY | Gfp.__GFP_NOWARN, Gfp.GFP_HIGHUSER};
    static final int[] BAD_GFPS = {1, 1 << 2, 1 << 9, 1 << 21, 1 << 30, -1, Gfp.GFP_KERNEL | 1 << 23};
    private static final int MAX_PAGES = 1200;
    private static final int MAX_OBJS = 3000;
    private static final int MAX_CACHES = 8;

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
    record Obj(long addr, long size, KmemCache cache) {
        @Override
        public String toString() {
            return String.format("0x%x(%d%s)", addr, size, cache == null ? "" : "," + cache.name());
        }
    }

    private final Harness h;
    private final SplittableRandom r;
    private final Kernel k;
    private final Mm mm;
    private final Filemap fm;
    private final PhysMem mem;
    private final int nrPages;
    private final KmemCache foreignCache;
    private final AddressSpace foreignMapping;

    private final List<Page> pages = new ArrayList<>();
    private final Map<Integer, Page> byPfn = new HashMap<>();
    private final List<Obj> objs = new ArrayList<>();
    /** Objects and pages freed since the last call that may allocate: certainly free still. */
    private final List<Obj> recentObjs = new ArrayList<>();
    private final List<KmemCache> caches = new ArrayList<>();
    private final Map<KmemCache, Integer> liveInCache = new HashMap<>();
    private final List<KmemCache> deadCaches = new ArrayList<>();
    private final AddressSpace[] mappings = new AddressSpace[2];
    private final List<AddressSpace> deadMappings = new ArrayList<>();
    private XArray xa;
    private final TreeMap<Long, Long> xaShadow = new TreeMap<>();
    private int cacheSeq;

    MmFuzz(Harness h, SplittableRandom r, Kernel k, Kernel foreign) {
        this.h = h;
        this.r = r;
        this.k = k;
        this.mm = k.mm();
        this.fm = mm.filemap();
        this.mem = mm.mem();
        this.nrPages = mem.nrPages();
        this.foreignCache = foreign.mm().kmemCacheCreate("foreign", 64, 0, 0);
        this.foreignMapping = foreign.mm().addressSpaceCreate("foreign-file", new RamAops(foreign.mm()));
        for (int i = 0; i < mappings.length; i++) {
            mappings[i] = mm.addressSpaceCreate("fuzz-file" + i, new RamAops(mm));
        }
        xa = new XArray(mm, "fuzz-xa");
    }

    /** readpage fills a pattern and completes at once; writepage declines, so only the fuzz sets writeback. */
    static final class RamAops implements AddressSpaceOperations {
        private final Mm mm;

        RamAops(Mm mm) {
            this.mm = mm;
        }

        @Override
        public int readpage(AddressSpace mapping, int page) {
            long va = mm.pageAddress(page);
            mm.mem().memset(va, 0, PhysMem.PAGE_SIZE);
            mm.mem().putLong(va, mm.filemap().pageIndex(page) * 0x9E3779B97F4A7C15L);
            mm.filemap().setPageUptodate(page);
            mm.filemap().unlockPage(page);
            return 0;
        }

        @Override
        public int writepage(AddressSpace mapping, int page, WritebackControl wbc) {
            return AOP_WRITEPAGE_ACTIVATE;
        }
    }

    // ---------------------------------------------------------------- dispatch

    void step() {
        int w = r.nextInt(100);
        if (w < 12) {
            allocPages();
        } else if (w < 20) {
            freePages();
        } else if (w < 23) {
            getPutPage();
        } else if (w < 33) {
            kmalloc();
        } else if (w < 41) {
            kfree();
        } else if (w < 43) {
            ksize();
        } else if (w < 45) {
            cacheCreateDestroy();
        } else if (w < 51) {
            cacheAllocFree();
        } else if (w < 58) {
            physMem();
        } else if (w < 70) {
            pageState();
        } else if (w < 82) {
            pageCache();
        } else if (w < 90) {
            xarray();
        } else if (w < 94) {
            foreign();
        } else {
            misc();
        }
    }

    private boolean valid() {
        return r.nextInt(100) < 70;
    }

    private <T> T pick(List<T> l) {
        return l.get(r.nextInt(l.size()));
    }

    private int gfp(boolean valid) {
        return valid ? VALID_GFPS[r.nextInt(VALID_GFPS.length)] : BAD_GFPS[r.nextInt(BAD_GFPS.length)];
    }

    private int badPfn() {
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
    private int freePfn() {
        for (int i = 0; i < 16; i++) {
            int pfn = r.nextInt(nrPages);
            if (mm.pageAlloc().pageCount(pfn) == 0 && mm.pageAlloc().freeBlockOrderContaining(pfn) >= 0) {
                return pfn;
            }
        }
        return -1;
    }

    private void allocated() {
        recentObjs.clear();
    }

    private void track(Page p) {
        pages.add(p);
        byPfn.put(p.pfn, p);
    }

    private void untrack(Page p) {
        pages.remove(p);
        byPfn.remove(p.pfn);
    }

    private Page loosePage() {
        for (int i = 0; i < 8 && !pages.isEmpty(); i++) {
            Page p = pick(pages);
            if (p.order == 0 && p.cache == null) {
                return p;
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- page allocator

    private void allocPages() {
        boolean valid = valid() && pages.size() < MAX_PAGES;
        int order;
        int gfp;
        if (valid) {
            int o = r.nextInt(100);
            order = o < 70 ? 0 : o < 90 ? 1 + r.nextInt(2) : o < 99 ? 3 + r.nextInt(2) : PageAlloc.MAX_PAGE_ORDER;
            gfp = gfp(true);
        } else if (r.nextBoolean()) {
            int[] bad = {-1, PageAlloc.MAX_PAGE_ORDER + 1, 64, Integer.MIN_VALUE, Integer.MAX_VALUE};
            order = bad[r.nextInt(bad.length)];
            gfp = gfp(true);
        } else {
            order = 0;
            gfp = gfp(false);
        }
        allocated();
        int o = order;
        int g = gfp;
        h.call(k, "allocPages", valid, Gfp.formatMode(g) + ", " + o, () -> {
            int pfn = mm.allocPages(g, o);
            if (pfn < 0) {
                return Res.ERROR;
            }
            track(new Page(pfn, o));
            if ((g & Gfp.__GFP_ZERO) != 0 && mem.getLong(mem.pageAddress(pfn) + PhysMem.PAGE_SIZE - 8) != 0) {
                throw new Harness.Corrupt("__GFP_ZERO page " + pfn + " is not zeroed");
            }
            return Res.SUCCESS;
        });
    }

    private void freePages() {
        Page p = pages.isEmpty() ? null : pick(pages);
        if (p != null && valid() && !p.locked && !p.writeback) {
            h.call(k, "freePages", true, p + " refs " + p.refs, () -> {
                mm.freePages(p.pfn, p.order);
                dropRef(p);
                return Res.SUCCESS;
            });
            return;
        }
        int pfn;
        int order;
        String kind;
        int c = r.nextInt(8);
        if (c == 0 || p == null) {
            pfn = badPfn();
            order = 0;
            kind = "outside mem_map";
        } else if (c == 1) {
            pfn = p.pfn;
            order = r.nextBoolean() ? -1 : PageAlloc.MAX_PAGE_ORDER + 1;
            kind = "bad order";
        } else if (c == 2) {
            pfn = p.pfn;
            order = (p.order + 1 + r.nextInt(PageAlloc.MAX_PAGE_ORDER)) % (PageAlloc.MAX_PAGE_ORDER + 1);
            kind = "wrong order";
        } else if (c == 3 && p.order > 0) {
            pfn = p.pfn + 1 + r.nextInt((1 << p.order) - 1);
            order = p.order;
            kind = "tail page";
        } else if (c == 4 && !objs.isEmpty()) {
            Obj o = pick(objs);
            pfn = mem.virtToPfn(o.addr);
            order = 0;
            kind = o.size > KmallocCaches.KMALLOC_MAX_CACHE_SIZE ? "large kmalloc" : "slab page";
            if (o.size > KmallocCaches.KMALLOC_MAX_CACHE_SIZE) {
                order = 64 - Long.numberOfLeadingZeros((o.size - 1) >>> PhysMem.PAGE_SHIFT);
            }
        } else if (c == 5 && p.refs == 1 && p.cache == null && (p.locked || p.writeback)) {
            pfn = p.pfn;
            order = p.order;
            kind = p.locked ? "last ref of a locked page" : "last ref of a page under writeback";
        } else {
            pfn = freePfn();
            order = 0;
            kind = "free page";
            if (pfn < 0) {
                return;
            }
        }
        int f = pfn;
        int o = order;
        h.call(k, "freePages", false, f + ", " + o + " (" + kind + ")", () -> {
            mm.freePages(f, o);
            return Res.SUCCESS;
        });
    }

    private void dropRef(Page p) {
        if (--p.refs == 0) {
            untrack(p);
        }
    }

    private void getPutPage() {
        Page p = pages.isEmpty() ? null : pick(pages);
        boolean get = r.nextBoolean();
        if (p != null && valid()) {
            if (get && p.refs < 8) {
                h.call(k, "getPage", true, p.toString(), () -> {
                    mm.pageAlloc().getPage(p.pfn);
                    p.refs++;
                    return Res.SUCCESS;
                });
                return;
            }
            if (!get && (p.refs > 1 || (!p.locked && !p.writeback))) {
                h.call(k, "putPage", true, p + " refs " + p.refs, () -> {
                    mm.pageAlloc().putPage(p.pfn);
                    dropRef(p);
                    return Res.SUCCESS;
                });
                return;
            }
        }
        int pfn = r.nextBoolean() ? badPfn() : freePfn();
        if (pfn == -1 && !objs.isEmpty()) {
            pfn = mem.virtToPfn(pick(objs).addr);
        }
        if (pfn == -1) {
            return;
        }
        int f = pfn;
        h.call(k, get ? "getPage" : "putPage", false, Integer.toString(f), () -> {
            if (get) {
                mm.pageAlloc().getPage(f);
            } else {
                mm.pageAlloc().putPage(f);
            }
            return Res.SUCCESS;
        });
    }

    // ---------------------------------------------------------------- kmalloc and slab

    private void kmalloc() {
        boolean valid = valid() && objs.size() < MAX_OBJS;
        long size;
        int gfp;
        if (valid) {
            int c = r.nextInt(100);
            size = c < 3 ? 0 : c < 85 ? 1 + r.nextInt(256) : c < 97 ? 1 + r.nextInt(8192) : 8193 + r.nextInt(16384);
            if (c >= 3 && r.nextInt(4) == 0) {
                size = Long.highestOneBit(size);
            }
            gfp = gfp(true);
        } else if (r.nextBoolean()) {
            long[] bad = {-1, Long.MIN_VALUE, KmallocCaches.KMALLOC_MAX_SIZE + 1, Long.MAX_VALUE, -4096};
            size = bad[r.nextInt(bad.length)];
            gfp = Gfp.GFP_KERNEL;
        } else {
            size = 64;
            gfp = gfp(false);
        }
        boolean zero = r.nextInt(4) == 0;
        allocated();
        long s = size;
        int g = gfp;
        h.call(k, zero ? "kzalloc" : "kmalloc", valid, s + ", " + Gfp.formatMode(g), () -> {
            long a = zero ? mm.kzalloc(s, g) : mm.kmalloc(s, g);
            if (a == 0) {
                return Res.ERROR;
            }
            if (s == 0) {
                if (a != KmallocCaches.ZERO_SIZE_PTR) {
                    throw new Harness.Corrupt("kmalloc(0) is not ZERO_SIZE_PTR");
                }
                mm.kfree(a);
                return Res.SUCCESS;
            }
            objs.add(new Obj(a, s, null));
            if (Long.bitCount(s) == 1 && s <= KmallocCaches.KMALLOC_MAX_CACHE_SIZE && (a & (s - 1)) != 0) {
                throw new Harness.Corrupt(String.format("kmalloc(%d) at 0x%x is not naturally aligned", s, a));
            }
            if ((zero || (g & Gfp.__GFP_ZERO) != 0) && mem.getByte(a + s - 1) != 0) {
                throw new Harness.Corrupt(String.format("kzalloc(%d) at 0x%x is not zeroed", s, a));
            }
            mem.putByte(a + s - 1, (byte) 0x5a);
            return Res.SUCCESS;
        });
    }

    private Obj pickKmalloced() {
        for (int i = 0; i < 8 && !objs.isEmpty(); i++) {
            Obj o = pick(objs);
            if (o.cache == null) {
                return o;
            }
        }
        return null;
    }

    /** An address kfree()/ksize() must refuse; null if none is at hand. */
    private Long badObjAddr() {
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

    private void kfree() {
        Obj o = valid() ? pickKmalloced() : null;
        if (o != null) {
            h.call(k, "kfree", true, o.toString(), () -> {
                mm.kfree(o.addr);
                objs.remove(o);
                recentObjs.add(o);
                return Res.SUCCESS;
            });
            return;
        }
        Long a = badObjAddr();
        if (a == null) {
            return;
        }
        h.call(k, "kfree", false, String.format("0x%x", a), () -> {
            mm.kfree(a);
            return Res.SUCCESS;
        });
    }

    private void ksize() {
        Obj o = valid() ? pickKmalloced() : null;
        if (o != null) {
            h.call(k, "ksize", true, o.toString(), () -> {
                long s = mm.kmallocCaches().ksize(o.addr);
                if (s < o.size) {
                    throw new Harness.Corrupt("ksize " + s + " < the " + o.size + " bytes asked");
                }
                return Res.SUCCESS;
            });
            return;
        }
        Long a = badObjAddr();
        if (a == null) {
            return;
        }
        h.call(k, "ksize", false, String.format("0x%x", a), () -> {
            mm.kmallocCaches().ksize(a);
            return Res.SUCCESS;
        });
    }

    private void cacheCreateDestroy() {
        if (r.nextBoolean()) {
            boolean valid = valid() && caches.size() < MAX_CACHES;
            String name = "fuzz_cache" + cacheSeq++;
            int size = 1 + r.nextInt(r.nextBoolean() ? 512 : 8192);
            int[] aligns = {0, 8, 16, 64, 4096};
            int align = aligns[r.nextInt(aligns.length)];
            int[] flagSets = {0, SlabFlags.SLAB_HWCACHE_ALIGN, SlabFlags.SLAB_RECLAIM_ACCOUNT, SlabFlags.SLAB_FAILSLAB,
                SlabFlags.SLAB_DEBUG_FLAGS};
            int flags = flagSets[r.nextInt(flagSets.length)];
            if (!valid) {
                switch (r.nextInt(6)) {
                    case 0:
                        name = r.nextBoolean() ? null : " ";
                        break;
                    case 1:
                        size = r.nextBoolean() ? 0 : -r.nextInt(1 << 20);
                        break;
                    case 2:
                        size = KmallocCaches.KMALLOC_MAX_CACHE_SIZE * 2 + 1 + r.nextInt(1 << 20);
                        break;
                    case 3:
                        align = new int[] {3, -8, 12, 16384, 1 << 30}[r.nextInt(5)];
                        break;
                    case 4:
                        flags = 1 << 30;
                        break;
                    default:
                        flags = 0x1;
                }
            }
            String n = name;
            int s = size;
            int a = align;
            int f = flags;
            h.call(k, "kmemCacheCreate", valid, n + ", " + s + ", " + a + ", 0x" + Integer.toHexString(f), () -> {
                KmemCache c = mm.kmemCacheCreate(n, s, a, f);
                caches.add(c);
                liveInCache.put(c, 0);
                return Res.SUCCESS;
            });
            return;
        }
        KmemCache c = caches.isEmpty() ? null : pick(caches);
        if (c != null && liveInCache.get(c) == 0 && valid()) {
            h.call(k, "kmemCacheDestroy", true, c.name(), () -> {
                mm.slub().kmemCacheDestroy(c);
                caches.remove(c);
                liveInCache.remove(c);
                deadCaches.add(c);
                return Res.SUCCESS;
            });
            return;
        }
        KmemCache bad;
        String kind;
        int x = r.nextInt(5);
        if (x == 0 && c != null && liveInCache.get(c) > 0) {
            bad = c;
            kind = "live objects";
        } else if (x == 1 && !deadCaches.isEmpty()) {
            bad = pick(deadCaches);
            kind = "destroyed";
        } else if (x == 2) {
            bad = foreignCache;
            kind = "another kernel's";
        } else if (x == 3) {
            bad = mm.kmallocCaches().kmallocSlab(1 + r.nextInt(KmallocCaches.KMALLOC_MAX_CACHE_SIZE));
            kind = "a kmalloc cache";
        } else {
            bad = null;
            kind = "null";
        }
        h.call(k, "kmemCacheDestroy", false, bad + " (" + kind + ")", () -> {
            mm.slub().kmemCacheDestroy(bad);
            return Res.SUCCESS;
        });
    }

    private Obj pickCacheObj() {
        for (int i = 0; i < 8 && !objs.isEmpty(); i++) {
            Obj o = pick(objs);
            if (o.cache != null) {
                return o;
            }
        }
        return null;
    }

    private void cacheAllocFree() {
        KmemCache c = caches.isEmpty() ? null : pick(caches);
        if (r.nextBoolean()) {
            boolean valid = c != null && valid() && objs.size() < MAX_OBJS;
            KmemCache use;
            int gfp = gfp(true);
            if (valid) {
                use = c;
            } else {
                int x = r.nextInt(4);
                use = x == 0 ? null : x == 1 && !deadCaches.isEmpty() ? pick(deadCaches) : x == 2 ? foreignCache : c;
                if (use == c) {
                    gfp = gfp(false);
                }
                if (use == null && x != 0) {
                    return;
                }
            }
            allocated();
            KmemCache u = use;
            int g = gfp;
            h.call(k, "kmemCacheAlloc", valid, u + ", " + Gfp.formatMode(g), () -> {
                long a = mm.kmemCacheAlloc(u, g);
                if (a == 0) {
                    return Res.ERROR;
                }
                objs.add(new Obj(a, u.objectSize(), u));
                liveInCache.merge(u, 1, Integer::sum);
                if ((g & Gfp.__GFP_ZERO) != 0 && mem.getByte(a + u.objectSize() - 1) != 0) {
                    throw new Harness.Corrupt("__GFP_ZERO object not zeroed");
                }
                mem.putByte(a, (byte) 0x33);
                return Res.SUCCESS;
            });
            return;
        }
        Obj o = pickCacheObj();
        if (o != null && valid()) {
            h.call(k, "kmemCacheFree", true, o.cache + ", " + o, () -> {
                mm.kmemCacheFree(o.cache, o.addr);
                objs.remove(o);
                liveInCache.merge(o.cache, -1, Integer::sum);
                recentObjs.add(o);
                return Res.SUCCESS;
            });
            return;
        }
        KmemCache use;
        long addr;
        String kind;
        int x = r.nextInt(6);
        Obj km = pickKmalloced();
        if (x == 0 && o != null && caches.size() > 1) {
            use = caches.get((caches.indexOf(o.cache) + 1) % caches.size());
            addr = o.addr;
            kind = "wrong cache";
        } else if (x == 1 && km != null && c != null) {
            use = c;
            addr = km.addr;
            kind = "a kmalloc object";
        } else if (x == 2 && o != null) {
            use = o.cache;
            addr = o.addr + 1 + r.nextInt(3);
            kind = "not an object's start";
        } else if (x == 3 && o != null) {
            use = r.nextBoolean() ? null : foreignCache;
            addr = o.addr;
            kind = use == null ? "null cache" : "another kernel's cache";
        } else if (x == 4 && !recentObjs.isEmpty() && pick(recentObjs).cache != null) {
            Obj f = recentObjs.get(recentObjs.size() - 1);
            if (f.cache == null || !caches.contains(f.cache)) {
                return;
            }
            use = f.cache;
            addr = f.addr;
            kind = "double free";
        } else if (c != null) {
            use = c;
            addr = badObjAddrOutside();
            kind = "outside kernel memory";
        } else {
            return;
        }
        KmemCache u = use;
        long a = addr;
        h.call(k, "kmemCacheFree", false, u + String.format(", 0x%x (%s)", a, kind), () -> {
            mm.kmemCacheFree(u, a);
            return Res.SUCCESS;
        });
    }

    private long badObjAddrOutside() {
        long[] wild = {0, 16, PhysMem.PAGE_OFFSET - 8, PhysMem.PAGE_OFFSET + mem.size(), Long.MIN_VALUE, -1};
        return wild[r.nextInt(wild.length)];
    }

    // ---------------------------------------------------------------- PhysMem

    /** [addr, addr+len) inside memory the fuzz owns, as {addr, len}. */
    private long[] ownedRange() {
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

    private void physMem() {
        long[] own = ownedRange();
        boolean valid = own != null && valid();
        long addr;
        long len;
        if (valid) {
            addr = own[0];
            len = Math.min(own[1], 8192);
        } else {
            long end = PhysMem.PAGE_OFFSET + mem.size();
            int c = r.nextInt(5);
            // Every invalid range leaves kernel memory (or has a negative length at its end): a stray write
            // inside it would be a corruption the emulator cannot tell from a use of the memory.
            addr = c == 0 ? PhysMem.PAGE_OFFSET - 1 - r.nextInt(1 << 20) : c == 1 ? end - 1 - r.nextInt(3) : c == 2
                    ? r.nextLong() & 0x7fffffffffffL : c == 3 ? end + r.nextInt(1 << 20) : end;
            len = c == 4 ? -1 - r.nextInt(100) : c == 1 ? 8 + r.nextInt(64) : 1 + r.nextInt(64);
        }
        long a = addr;
        long n = len;
        int kind = r.nextInt(8);
        switch (kind) {
            case 0:
                if (valid && n < 8) {
                    return;
                }
                h.call(k, "PhysMem.putLong+getLong", valid, String.format("0x%x", a), () -> {
                    long v = r.nextLong();
                    mem.putLong(a, v);
                    if (mem.getLong(a) != v) {
                        throw new Harness.Corrupt("getLong after putLong");
                    }
                    return Res.SUCCESS;
                });
                break;
            case 1:
                if (valid && n < 4) {
                    return;
                }
                h.call(k, "PhysMem.putInt+getByte", valid, String.format("0x%x", a), () -> {
                    mem.putInt(a, 0x01020304);
                    mem.getByte(a);
                    return Res.SUCCESS;
                });
                break;
            case 2:
                h.call(k, "PhysMem.memset", valid, String.format("0x%x, %d", a, n), () -> {
                    mem.memset(a, 0xa5, n);
                    return Res.SUCCESS;
                });
                break;
            case 3: {
                boolean badArray = !valid || r.nextInt(4) == 0;
                int cap = (int) Math.min(Math.max(n, 0), 8192);
                byte[] buf = badArray && r.nextBoolean() ? null : new byte[badArray ? Math.max(0, cap - 1) : cap];
                int len32 = (int) Math.max(Math.min(n, Integer.MAX_VALUE), Integer.MIN_VALUE);
                boolean ok = valid && !badArray;
                h.call(k, "PhysMem.copyIn", ok, String.format("0x%x, %s, %d", a, buf == null ? "null" : buf.length,
                        len32), () -> {
                            mem.copyIn(a, buf, 0, len32);
                            return Res.SUCCESS;
                        });
                break;
            }
            case 4: {
                boolean badArray = !valid || r.nextInt(4) == 0;
                int len32 = (int) Math.max(Math.min(n, Integer.MAX_VALUE), Integer.MIN_VALUE);
                byte[] buf = new byte[(int) Math.min(Math.max(n, 0), 8192) + 16];
                int off = badArray ? (r.nextBoolean() ? -1 : buf.length) : r.nextInt(16);
                boolean ok = valid && !badArray;
                h.call(k, "PhysMem.copyOut", ok, String.format("0x%x, off %d, %d", a, off, len32), () -> {
                    mem.copyOut(a, buf, off, len32);
                    return Res.SUCCESS;
                });
                break;
            }
            case 5: {
                long[] other = ownedRange();
                if (other == null) {
                    return;
                }
                long m = Math.min(n, other[1]);
                boolean ok = valid && m > 0;
                long dst = ok ? other[0] : a;
                long src = ok ? a : other[0];
                h.call(k, "PhysMem.memcpy", ok, String.format("0x%x, 0x%x, %d", dst, src, ok ? m : n), () -> {
                    mem.memcpy(dst, src, ok ? m : n);
                    return Res.SUCCESS;
                });
                break;
            }
            case 6: {
                // One byte is enough to be inside: an invalid address for it is wholly outside.
                long va = valid || a < PhysMem.PAGE_OFFSET + mem.size() && a >= PhysMem.PAGE_OFFSET
                        ? (valid ? a : PhysMem.PAGE_OFFSET + mem.size()) : a;
                h.call(k, "PhysMem.virtToPfn", valid, String.format("0x%x", va), () -> {
                    int pfn = mem.virtToPfn(va);
                    if (pfn < 0 || pfn >= nrPages) {
                        throw new Harness.Corrupt("virtToPfn gave " + pfn);
                    }
                    return Res.SUCCESS;
                });
                break;
            }
            default: {
                int pfn = valid ? r.nextInt(nrPages) : badPfn();
                h.call(k, "pageAddress+pageCount", valid, Integer.toString(pfn), () -> {
                    long va = mm.pageAddress(pfn);
                    mm.pageAlloc().pageCount(pfn);
                    if (mem.virtToPfn(va) != pfn) {
                        throw new Harness.Corrupt("virtToPfn(pageAddress(" + pfn + "))");
                    }
                    return Res.SUCCESS;
                });
            }
        }
    }

    // ---------------------------------------------------------------- page state

    private void pageState() {
        Page p = loosePage();
        int op = r.nextInt(12);
        if (r.nextInt(100) < 25) {
            // A reader of any pfn in mem_map is fine; outside it, refused.
            boolean valid = r.nextBoolean();
            int pfn = valid ? r.nextInt(nrPages) : badPfn();
            String[] readers = {"pageLocked", "pageUptodate", "pageDirty", "pageWriteback", "pagePrivate",
                "pageMapping", "pageIndex"};
            String name = readers[op % readers.length];
            h.call(k, name, valid, Integer.toString(pfn), () -> {
                switch (name) {
                    case "pageLocked":
                        fm.pageLocked(pfn);
                        break;
                    case "pageUptodate":
                        fm.pageUptodate(pfn);
                        break;
                    case "pageDirty":
                        fm.pageDirty(pfn);
                        break;
                    case "pageWriteback":
                        fm.pageWriteback(pfn);
                        break;
                    case "pagePrivate":
                        fm.pagePrivate(pfn);
                        break;
                    case "pageMapping":
                        fm.pageMapping(pfn);
                        break;
                    default:
                        fm.pageIndex(pfn);
                }
                return Res.SUCCESS;
            });
            return;
        }
        if (p != null && valid()) {
            validPageState(p, op);
            return;
        }
        // A mutator on a page the caller does not hold, or a loose page in the wrong state.
        int pfn;
        String kind;
        int c = r.nextInt(5);
        Obj o = objs.isEmpty() ? null : pick(objs);
        if (c == 0) {
            pfn = badPfn();
            kind = "outside mem_map";
        } else if (c == 1 && o != null && o.size <= KmallocCaches.KMALLOC_MAX_CACHE_SIZE) {
            pfn = mem.virtToPfn(o.addr);
            kind = "slab page";
        } else if (c == 2 && p != null && (op == 5 || op == 7) && !p.locked && !p.writeback) {
            pfn = p.pfn;
            kind = op == 5 ? "unlock of an unlocked page" : "end of writeback not started";
            int f = pfn;
            h.call(k, op == 5 ? "unlockPage" : "endPageWriteback", false, f + " (" + kind + ")", () -> {
                if (op == 5) {
                    fm.unlockPage(f);
                } else {
                    fm.endPageWriteback(f);
                }
                return Res.SUCCESS;
            });
            return;
        } else {
            pfn = freePfn();
            kind = "free page";
            if (pfn < 0) {
                return;
            }
        }
        String[] mutators = {"setPageDirty", "clearPageDirtyForIo", "setPageUptodate", "setPagePrivate",
            "trylockPage", "unlockPage", "setPageWriteback", "endPageWriteback", "markPageAccessed",
            "setPageLockOwner", "setPageWritebackOwner", "lockPage"};
        String name = mutators[op];
        int f = pfn;
        h.call(k, name, false, f + " (" + kind + ")", () -> {
            mutate(name, f);
            return Res.SUCCESS;
        });
    }

    private void mutate(String name, int pfn) {
        switch (name) {
            case "setPageDirty":
                fm.setPageDirty(pfn);
                break;
            case "clearPageDirtyForIo":
                fm.clearPageDirtyForIo(pfn);
                break;
            case "setPageUptodate":
                fm.setPageUptodate(pfn);
                break;
            case "setPagePrivate":
                fm.setPagePrivate(pfn);
                break;
            case "trylockPage":
                fm.trylockPage(pfn);
                break;
            case "unlockPage":
                fm.unlockPage(pfn);
                break;
            case "setPageWriteback":
                fm.setPageWriteback(pfn, null);
                break;
            case "endPageWriteback":
                fm.endPageWriteback(pfn);
                break;
            case "markPageAccessed":
                fm.markPageAccessed(pfn);
                break;
            case "setPageLockOwner":
                fm.setPageLockOwner(pfn, k.currentTask());
                break;
            case "setPageWritebackOwner":
                fm.setPageWritebackOwner(pfn, null);
                break;
            default:
                fm.lockPage(pfn);
        }
    }

    private void validPageState(Page p, int op) {
        switch (op) {
            case 0:
                h.call(k, "setPageDirty", true, p.toString(), () -> {
                    fm.setPageDirty(p.pfn);
                    p.dirty = true;
                    return Res.SUCCESS;
                });
                break;
            case 1:
                h.call(k, "clearPageDirtyForIo", true, p.toString(), () -> {
                    boolean was = fm.clearPageDirtyForIo(p.pfn);
                    if (was != p.dirty) {
                        throw new Harness.Corrupt("PG_dirty was " + was + ", the fuzz set it " + p.dirty);
                    }
                    p.dirty = false;
                    return Res.SUCCESS;
                });
                break;
            case 2:
                h.call(k, "setPageUptodate", true, p.toString(), () -> {
                    fm.setPageUptodate(p.pfn);
                    return Res.SUCCESS;
                });
                break;
            case 3:
                h.call(k, p.privateFlag ? "clearPagePrivate" : "setPagePrivate", true, p.toString(), () -> {
                    if (p.privateFlag) {
                        fm.clearPagePrivate(p.pfn);
                    } else {
                        fm.setPagePrivate(p.pfn);
                    }
                    p.privateFlag = !p.privateFlag;
                    return Res.SUCCESS;
                });
                break;
            case 4:
            case 11:
                h.call(k, op == 4 || p.locked ? "trylockPage" : "lockPage", true, p.toString(), () -> {
                    if (op == 4 || p.locked) {
                        boolean got = fm.trylockPage(p.pfn);
                        if (got == p.locked) {
                            throw new Harness.Corrupt("trylock of a loose page the fuzz " + (p.locked ? "holds"
                                    : "does not hold") + " returned " + got);
                        }
                    } else {
                        fm.lockPage(p.pfn);
                    }
                    p.locked = true;
                    return Res.SUCCESS;
                });
                break;
            case 5:
                if (p.locked) {
                    h.call(k, "unlockPage", true, p.toString(), () -> {
                        fm.unlockPage(p.pfn);
                        p.locked = false;
                        return Res.SUCCESS;
                    });
                }
                break;
            case 6:
                if (!p.writeback) {
                    h.call(k, "setPageWriteback", true, p.toString(), () -> {
                        fm.setPageWriteback(p.pfn, k.currentTask());
                        p.writeback = true;
                        return Res.SUCCESS;
                    });
                }
                break;
            case 7:
                if (p.writeback) {
                    h.call(k, "endPageWriteback", true, p.toString(), () -> {
                        fm.endPageWriteback(p.pfn);
                        p.writeback = false;
                        return Res.SUCCESS;
                    });
                }
                break;
            case 8:
                h.call(k, "markPageAccessed", true, p.toString(), () -> {
                    fm.markPageAccessed(p.pfn);
                    return Res.SUCCESS;
                });
                break;
            case 9:
                h.call(k, "setPageLockOwner", true, p.toString(), () -> {
                    fm.setPageLockOwner(p.pfn, k.currentTask());
                    return Res.SUCCESS;
                });
                break;
            default:
                if (!p.writeback) {
                    h.call(k, "waitOnPageWriteback", true, p.toString(), () -> {
                        fm.waitOnPageWriteback(p.pfn);
                        return Res.SUCCESS;
                    });
                }
        }
    }

    // ---------------------------------------------------------------- page cache

    private AddressSpace mapping() {
        return mappings[r.nextInt(mappings.length)];
    }

    private long index() {
        int c = r.nextInt(10);
        return c < 8 ? r.nextInt(512) : c == 8 ? r.nextLong(1L << 40) : Long.MAX_VALUE - r.nextInt(1024);
    }

    /** Whether the fuzz holds a page of {@code m} locked or under writeback (at {@code index}, or any if -1). */
    private boolean busyIn(AddressSpace m, long index) {
        for (Page p : pages) {
            if (p.cache == m && (p.locked || p.writeback) && (index < 0 || p.index == index)) {
                return true;
            }
        }
        return false;
    }

    /** A page of a cache the fuzz got from the cache (findGetPage and friends): one more reference. */
    private void gotCachePage(int pfn, AddressSpace m, long index, boolean locked) {
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

    private void pageCache() {
        AddressSpace m = mapping();
        int op = r.nextInt(11);
        boolean valid = valid();
        switch (op) {
            case 0:
            case 1:
                addToPageCache(m, valid);
                break;
            case 2: {
                long idx = valid ? index() : -1 - r.nextInt(1000);
                AddressSpace use = valid ? m : invalidMapping();
                boolean v = valid || use == m;
                h.call(k, "findGetPage", v, use + ", " + idx, () -> {
                    int pfn = fm.findGetPage(use, idx);
                    if (pfn >= 0) {
                        gotCachePage(pfn, use, idx, false);
                    }
                    return Res.SUCCESS;
                });
                break;
            }
            case 3:
            case 4: {
                long idx = index();
                if (valid && busyIn(m, idx)) {
                    return;
                }
                boolean grab = op == 4;
                AddressSpace use = valid ? m : invalidMapping();
                long ix = valid || r.nextBoolean() ? idx : -1;
                boolean v = valid || (use == m && ix >= 0);
                if (v && busyIn(use, ix)) {
                    return;
                }
                allocated();
                h.call(k, grab ? "grabCachePageWriteBegin" : "findLockPage", v, use + ", " + ix, () -> {
                    int pfn = grab ? fm.grabCachePageWriteBegin(use, ix) : fm.findLockPage(use, ix);
                    if (pfn >= 0) {
                        gotCachePage(pfn, use, ix, true);
                        return Res.SUCCESS;
                    }
                    return grab ? Res.ERROR : Res.SUCCESS;
                });
                break;
            }
            case 5: {
                long idx = index();
                if (valid && busyIn(m, idx)) {
                    return;
                }
                AddressSpace use = valid ? m : invalidMapping();
                int gfp = valid || r.nextBoolean() ? gfp(true) : gfp(false);
                boolean v = valid || (use == m && !isBad(gfp));
                if (v && busyIn(use, idx)) {
                    return;
                }
                allocated();
                h.call(k, "readCachePage", v, use + ", " + idx + ", " + Gfp.formatMode(gfp), () -> {
                    int pfn = fm.readCachePage(use, idx, gfp);
                    if (pfn < 0) {
                        return Res.ERROR;
                    }
                    gotCachePage(pfn, use, idx, false);
                    return Res.SUCCESS;
                });
                break;
            }
            case 6: {
                long from = valid ? r.nextInt(600) : -1 - r.nextInt(9);
                if (valid && busyIn(m, -1)) {
                    return;
                }
                AddressSpace use = valid ? m : r.nextBoolean() ? m : invalidMapping();
                boolean v = valid;
                h.call(k, "truncateInodePages", v, use + ", " + from, () -> {
                    fm.truncateInodePages(use, from);
                    for (Page p : pages) {
                        if (p.cache == use && p.index >= from) {
                            p.cache = null;
                            p.dirty = false;
                            p.privateFlag = false;
                        }
                    }
                    return Res.SUCCESS;
                });
                break;
            }
            case 7: {
                AddressSpace use = valid ? m : invalidMapping();
                h.call(k, "invalidateMappingPages", valid, String.valueOf(use), () -> {
                    fm.invalidateMappingPages(use, 0);
                    return Res.SUCCESS;
                });
                break;
            }
            case 8: {
                if (valid && (busyIn(m, -1) || r.nextInt(20) != 0)) {
                    return;
                }
                int slot = m == mappings[0] ? 0 : 1;
                AddressSpace use = valid ? m : invalidMapping();
                h.call(k, "addressSpaceDestroy", valid, String.valueOf(use), () -> {
                    mm.addressSpaceDestroy(use);
                    for (Page p : pages) {
                        if (p.cache == use) {
                            p.cache = null;
                            p.dirty = false;
                            p.privateFlag = false;
                        }
                    }
                    deadMappings.add(use);
                    mappings[slot] = mm.addressSpaceCreate("fuzz-file" + slot + "." + deadMappings.size(),
                            new RamAops(mm));
                    return Res.SUCCESS;
                });
                break;
            }
            case 9: {
                Page locked = null;
                for (Page p : pages) {
                    if (p.cache != null && p.locked) {
                        locked = p;
                        break;
                    }
                }
                if (locked == null) {
                    return;
                }
                Page p = locked;
                h.call(k, "unlockPage", true, p + " in " + p.cache + " at " + p.index, () -> {
                    fm.unlockPage(p.pfn);
                    p.locked = false;
                    return Res.SUCCESS;
                });
                break;
            }
            default: {
                int gfp = valid ? gfp(true) : gfp(false);
                h.call(k, "mappingSetGfpMask", valid, m + ", " + Gfp.formatMode(gfp), () -> {
                    m.mappingSetGfpMask(gfp);
                    return Res.SUCCESS;
                });
            }
        }
    }

    private static boolean isBad(int gfp) {
        return (gfp & ~Gfp.__GFP_BITS_MASK) != 0;
    }

    /** A mapping every page-cache call refuses: none, destroyed, or another kernel's. */
    private AddressSpace invalidMapping() {
        int c = r.nextInt(3);
        if (c == 0 && !deadMappings.isEmpty()) {
            return pick(deadMappings);
        }
        return c == 1 ? null : foreignMapping;
    }

    private void addToPageCache(AddressSpace m, boolean valid) {
        Page p = loosePage();
        if (valid && (p == null || p.refs != 1 || p.locked || p.writeback || p.dirty || p.privateFlag
                || p.everCached)) {
            valid = false;
        }
        int pfn;
        AddressSpace use = m;
        long index = index();
        int gfp = gfp(true);
        String kind = "";
        if (valid) {
            pfn = p.pfn;
        } else {
            int c = r.nextInt(6);
            Page q = pages.isEmpty() ? null : pick(pages);
            if (c == 0 && q != null && (q.cache != null || q.locked || q.dirty || q.writeback || q.everCached
                    || q.privateFlag || q.order > 0)) {
                pfn = q.pfn;
                kind = "not a new page";
            } else if (c == 1 && p != null) {
                pfn = p.pfn;
                index = -1 - r.nextInt(100);
                kind = "negative index";
            } else if (c == 2 && p != null) {
                pfn = p.pfn;
                use = invalidMapping();
                kind = "bad mapping";
            } else if (c == 3 && p != null) {
                pfn = p.pfn;
                gfp = gfp(false);
                kind = "bad gfp";
            } else if (c == 4) {
                pfn = badPfn();
                kind = "outside mem_map";
            } else {
                pfn = freePfn();
                kind = "free page";
                if (pfn < 0) {
                    return;
                }
            }
        }
        allocated();
        int f = pfn;
        AddressSpace u = use;
        long ix = index;
        int g = gfp;
        boolean v = valid;
        h.call(k, "addToPageCacheLru", v, f + ", " + u + ", " + ix + ", " + Gfp.formatMode(g) + " " + kind, () -> {
            int err = fm.addToPageCacheLru(f, u, ix, g);
            if (err != 0) {
                return Res.ERROR;
            }
            if (v) {
                p.cache = u;
                p.index = ix;
                p.everCached = true;
                p.locked = true;
            }
            return Res.SUCCESS;
        });
    }

    // ---------------------------------------------------------------- XArray

    private void xarray() {
        int op = r.nextInt(6);
        boolean valid = valid();
        long index = valid ? (r.nextInt(4) == 0 ? r.nextLong(Long.MAX_VALUE) : r.nextInt(5000))
                : -1 - r.nextLong(Long.MAX_VALUE);
        switch (op) {
            case 0:
            case 1: {
                boolean insert = op == 1;
                long value = valid || r.nextBoolean() ? 1 + r.nextInt(1 << 30) : 0;
                int gfp = valid || value == 0 ? gfp(true) : gfp(false);
                long ix = valid || value == 0 ? (valid ? index : r.nextInt(100)) : r.nextInt(100);
                boolean v = valid;
                allocated();
                h.call(k, insert ? "xaInsert" : "xaStore", v, ix + ", " + value + ", " + Gfp.formatMode(gfp), () -> {
                    int err = insert ? xa.xaInsert(ix, value, gfp) : xa.xaStore(ix, value, gfp);
                    if (err == -dev.reclaimlab.kernel.Errno.EEXIST) {
                        if (!insert || !xaShadow.containsKey(ix)) {
                            throw new Harness.Corrupt("-EEXIST at " + ix + " but the shadow has "
                                    + xaShadow.get(ix));
                        }
                        return Res.SUCCESS;
                    }
                    if (err != 0) {
                        return Res.ERROR;
                    }
                    if (insert && xaShadow.containsKey(ix)) {
                        throw new Harness.Corrupt("xaInsert over the entry at " + ix);
                    }
                    xaShadow.put(ix, value);
                    return Res.SUCCESS;
                });
                break;
            }
            case 2:
                h.call(k, "xaLoad", valid, Long.toString(index), () -> {
                    long got = xa.xaLoad(index);
                    long want = xaShadow.getOrDefault(index, 0L);
                    if (got != want) {
                        throw new Harness.Corrupt("xaLoad(" + index + ") = " + got + ", want " + want);
                    }
                    return Res.SUCCESS;
                });
                break;
            case 3: {
                long ix = valid && !xaShadow.isEmpty() && r.nextBoolean() ? xaShadow.firstKey() : index;
                h.call(k, "xaErase", valid, Long.toString(ix), () -> {
                    long got = xa.xaErase(ix);
                    Long want = xaShadow.remove(ix);
                    if (got != (want == null ? 0 : want)) {
                        throw new Harness.Corrupt("xaErase(" + ix + ") = " + got + ", want " + want);
                    }
                    return Res.SUCCESS;
                });
                break;
            }
            case 4:
                h.call(k, "xaFind", valid, Long.toString(index), () -> {
                    long got = xa.xaFind(index);
                    Long want = xaShadow.ceilingKey(index);
                    if (got != (want == null ? -1 : want)) {
                        throw new Harness.Corrupt("xaFind(" + index + ") = " + got + ", want " + want);
                    }
                    return Res.SUCCESS;
                });
                break;
            default:
                if (r.nextInt(50) == 0) {
                    h.call(k, "xaDestroy", true, xa.toString(), () -> {
                        xa.xaDestroy();
                        XArray dead = xa;
                        xaShadow.clear();
                        xa = new XArray(mm, "fuzz-xa");
                        h.call(k, "xaLoad", false, "destroyed array", () -> {
                            dead.xaLoad(0);
                            return Res.SUCCESS;
                        });
                        return Res.SUCCESS;
                    });
                }
        }
    }

    // ---------------------------------------------------------------- another kernel's objects, and the rest

    private void foreign() {
        int c = r.nextInt(5);
        switch (c) {
            case 0:
                h.call(k, "kmemCacheAlloc", false, "another kernel's cache", () -> {
                    mm.kmemCacheAlloc(foreignCache, Gfp.GFP_KERNEL);
                    return Res.SUCCESS;
                });
                break;
            case 1:
                h.call(k, "findGetPage", false, "another kernel's mapping", () -> {
                    fm.findGetPage(foreignMapping, 0);
                    return Res.SUCCESS;
                });
                break;
            case 2:
                h.call(k, "addressSpaceDestroy", false, "another kernel's mapping", () -> {
                    mm.addressSpaceDestroy(foreignMapping);
                    return Res.SUCCESS;
                });
                break;
            case 3:
                h.call(k, "kmemCacheValidate", false, "another kernel's cache", () -> {
                    mm.slub().kmemCacheValidate(foreignCache);
                    return Res.SUCCESS;
                });
                break;
            default: {
                Obj o = pickKmalloced();
                if (o == null) {
                    return;
                }
                h.call(k, "kmemCacheFree", false, "another kernel's cache, " + o, () -> {
                    mm.kmemCacheFree(foreignCache, o.addr);
                    return Res.SUCCESS;
                });
            }
        }
    }

    private void misc() {
        int c = r.nextInt(8);
        boolean valid = valid();
        switch (c) {
            case 0: {
                int gfp = gfp(valid);
                allocated();
                h.call(k, "tryToFreePages", valid, Gfp.formatMode(gfp), () -> {
                    mm.tryToFreePages(gfp);
                    return Res.SUCCESS;
                });
                break;
            }
            case 1: {
                int prio = valid ? r.nextInt(13) : (r.nextBoolean() ? -1 - r.nextInt(5) : 13 + r.nextInt(100));
                int gfp = valid || r.nextBoolean() ? gfp(true) : gfp(false);
                boolean v = valid && !isBad(gfp);
                h.call(k, "shrinkSlab", v, Gfp.formatMode(gfp) + ", " + prio, () -> {
                    mm.shrinkSlab(gfp, prio);
                    return Res.SUCCESS;
                });
                break;
            }
            case 2:
                h.call(k, "drainAllPages", true, "", () -> {
                    mm.pageAlloc().drainAllPages();
                    return Res.SUCCESS;
                });
                break;
            case 3: {
                int pfn = valid ? r.nextInt(nrPages) : badPfn();
                h.call(k, "freeBlockOrderContaining", valid, Integer.toString(pfn), () -> {
                    mm.pageAlloc().freeBlockOrderContaining(pfn);
                    return Res.SUCCESS;
                });
                break;
            }
            case 4: {
                int order = valid ? r.nextInt(PageAlloc.MAX_PAGE_ORDER + 1) : PageAlloc.MAX_PAGE_ORDER + 1 + r.nextInt(9);
                h.call(k, "nrFreeBlocks", valid, Integer.toString(order), () -> {
                    mm.pageAlloc().nrFreeBlocks(order);
                    return Res.SUCCESS;
                });
                break;
            }
            case 5:
                h.call(k, "checkFreeArea", true, "", () -> {
                    String bad = mm.pageAlloc().checkFreeArea();
                    if (bad != null) {
                        throw new Harness.Corrupt(bad);
                    }
                    return Res.SUCCESS;
                });
                break;
            case 6: {
                KmemCache c2 = caches.isEmpty() ? mm.kmallocCaches().kmallocSlab(64) : pick(caches);
                h.call(k, "kmemCacheValidate", true, c2.name(), () -> {
                    List<String> reports = mm.slub().kmemCacheValidate(c2);
                    if (!reports.isEmpty()) {
                        throw new Harness.Corrupt(reports.get(0));
                    }
                    return Res.SUCCESS;
                });
                break;
            }
            default:
                h.call(k, "meminfo+slabinfo+buddyinfo", true, "", () -> {
                    mm.meminfo();
                    mm.slub().slabinfo();
                    mm.pageAlloc().buddyinfo();
                    mm.vmstat().procVmstat();
                    return Res.SUCCESS;
                });
        }
    }

    // ---------------------------------------------------------------- the end

    /** Gives back everything the fuzz holds, then checks nothing leaked and the buddy lists coalesced. */
    void finish(FuzzStats stats) {
        for (Page p : new ArrayList<>(pages)) {
            if (p.locked) {
                fm.unlockPage(p.pfn);
            }
            if (p.writeback) {
                fm.endPageWriteback(p.pfn);
            }
            for (int i = p.refs; i > 0; i--) {
                mm.pageAlloc().putPage(p.pfn);
            }
        }
        pages.clear();
        byPfn.clear();
        List<String> frees = new ArrayList<>();
        java.util.Set<Long> seen = new java.util.HashSet<>();
        for (Obj o : objs) {
            if (!seen.add(o.addr)) {
                frees.add("the kernel handed out " + o + " twice");
                continue;
            }
            try {
                if (o.cache == null) {
                    mm.kfree(o.addr);
                } else {
                    mm.kmemCacheFree(o.cache, o.addr);
                }
            } catch (RuntimeException e) {
                frees.add(o + ": " + FuzzStats.oneLine(e.getMessage()).substring(0, Math.min(200,
                        FuzzStats.oneLine(e.getMessage()).length())));
            }
        }
        stats.integrity(frees.isEmpty(), "mm: every object the fuzz held freed once" + (frees.isEmpty() ? ""
                : ": " + frees.size() + " failed, first " + frees.get(0)));
        objs.clear();
        for (KmemCache c : caches) {
            try {
                mm.slub().kmemCacheDestroy(c);
            } catch (RuntimeException e) {
                stats.integrity(false, "mm: kmem_cache_destroy(" + c + "): " + FuzzStats.oneLine(e.getMessage()));
            }
        }
        xa.xaDestroy();
        for (AddressSpace m : mappings) {
            mm.addressSpaceDestroy(m);
        }
        List<String> problems = new ArrayList<>();
        for (KmemCache c : mm.slub().caches()) {
            List<String> reports = mm.slub().kmemCacheValidate(c);
            if (!reports.isEmpty()) {
                problems.add(c.name() + ": " + reports.get(0));
            }
            if (c.activeObjects() != 0) {
                problems.add(c.name() + ": " + c.activeObjects() + " objects still allocated");
            }
        }
        stats.integrity(problems.isEmpty(), "mm: kmemCacheValidate clean and no object left in any of "
                + mm.slub().caches().size() + " caches" + (problems.isEmpty() ? "" : ": " + problems));
        mm.slub().shrinkAllCaches();
        mm.pageAlloc().drainAllPages();
        PageAlloc pa = mm.pageAlloc();
        long free = pa.nrFreePages();
        long blocks = pa.nrFreeBlocks(PageAlloc.MAX_PAGE_ORDER);
        boolean ok = free == pa.managedPages() && blocks == pa.managedPages() >> PageAlloc.MAX_PAGE_ORDER
                && pa.checkFreeArea() == null;
        stats.integrity(ok, "mm: every page back and coalesced: " + free + " of " + pa.managedPages()
                + " pages free in " + blocks + " order-" + PageAlloc.MAX_PAGE_ORDER + " blocks");
        stats.integrity(k.oopses().isEmpty(), "mm: no oops in a kernel thread"
                + (k.oopses().isEmpty() ? "" : ": " + k.oopses().get(0)));
    }
}
