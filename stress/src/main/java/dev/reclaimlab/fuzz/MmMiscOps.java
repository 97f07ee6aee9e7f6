package dev.reclaimlab.fuzz;

import dev.reclaimlab.fuzz.Harness.Res;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.KmemCache;
import dev.reclaimlab.mm.PageAlloc;
import dev.reclaimlab.mm.XArray;

import java.util.List;
import java.util.TreeMap;

/** The mm fuzz's operations on an XArray checked against a shadow map, calls with another kernel's caches and mappings, and reclaim, shrinkers and the counters. */
final class MmMiscOps extends MmContext {
    private XArray xa;
    private final TreeMap<Long, Long> xaShadow = new TreeMap<>();

    MmMiscOps(MmContext c) {
        super(c);
        xa = new XArray(mm, "fuzz-xa");
    }

    /** xa_destroy() of the fuzz's array, at the end. */
    void destroy() {
        xa.xaDestroy();
    }

    void xarray() {
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

    void foreign() {
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

    void misc() {
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
}
