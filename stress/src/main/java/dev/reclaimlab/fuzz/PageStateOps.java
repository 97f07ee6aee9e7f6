package dev.reclaimlab.fuzz;

import dev.reclaimlab.fuzz.Harness.Res;
import dev.reclaimlab.mm.KmallocCaches;

/** The mm fuzz's operations on page flags, the page lock and writeback on pages the fuzz holds, and every change refused on pages it does not. */
final class PageStateOps extends MmContext {
    PageStateOps(MmContext c) {
        super(c);
    }

    void pageState() {
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

    void mutate(String name, int pfn) {
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

    void validPageState(Page p, int op) {
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
}
