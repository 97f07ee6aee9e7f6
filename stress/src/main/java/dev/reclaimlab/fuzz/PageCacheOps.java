package dev.reclaimlab.fuzz;

import dev.reclaimlab.fuzz.Harness.Res;
import dev.reclaimlab.mm.AddressSpace;
import dev.reclaimlab.mm.Gfp;

/** The mm fuzz's operations on the page cache of the fuzz's two mappings: insert, look up, lock, read, truncate, invalidate, destroy. */
final class PageCacheOps extends MmContext {
    PageCacheOps(MmContext c) {
        super(c);
    }

    void pageCache() {
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

    void addToPageCache(AddressSpace m, boolean valid) {
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
}
