package dev.reclaimlab.fuzz;

import dev.reclaimlab.fuzz.Harness.Res;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.KmallocCaches;
import dev.reclaimlab.mm.PageAlloc;
import dev.reclaimlab.mm.PhysMem;

/** The mm fuzz's operations on the page allocator: alloc_pages(), __free_pages(), get_page() and put_page(), with bad pfns, orders, tail, slab, large-kmalloc and free pages. */
final class PageAllocOps extends MmContext {
    PageAllocOps(MmContext c) {
        super(c);
    }

    void allocPages() {
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

    void freePages() {
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

    void getPutPage() {
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
}
