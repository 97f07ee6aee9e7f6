package dev.reclaimlab.fuzz;

import dev.reclaimlab.fs.buffer.BufferHead;
import dev.reclaimlab.fuzz.Harness.Res;
import dev.reclaimlab.mm.Gfp22;
import dev.reclaimlab.mm.PageAlloc;

/**
 * The 2.2 fuzz's calls to the buffer cache and to 2.2's page allocator: bread()/brelse() of blocks of the ext2
 * disk (read only, so ext2's own buffers stay as ext2 left them), getblk() beyond the device, at a negative or
 * overflowing block and with sizes 2.2 has no buffers for; __get_free_pages() of every order 2.2 has, and above,
 * and with gfp bits no kernel has; __free_page() of pfns outside mem_map.
 */
final class Buffer22Ops extends Linux22Context {
    Buffer22Ops(Linux22Context c) {
        super(c);
    }

    void bread() {
        long blocks = disk.sizeBytes() / 1024;
        if (valid()) {
            long b = r.nextLong(blocks);
            call("bread+brelse", true, disk.name() + ", " + b + ", 1024", () -> {
                BufferHead bh = mm.buffers().bread(disk, b, 1024);
                if (bh == null) {
                    return Res.ERROR;
                }
                mm.buffers().brelse(bh);
                return Res.SUCCESS;
            });
            return;
        }
        int c = r.nextInt(5);
        long b = c == 0 ? -1 - r.nextInt(1 << 20) : c == 1 ? blocks + r.nextInt(1 << 10)
                : c == 2 ? Long.MAX_VALUE / 512 + r.nextInt(1 << 10) : 1;
        int size = c == 3 ? 1000 + r.nextInt(24) : c == 4 ? 0 : 1024;
        String kind = c == 0 ? "negative block" : c == 1 ? "beyond the device" : c == 2 ? "offset overflows"
                : "no buffers of that size";
        call("getblk", false, disk.name() + ", " + b + ", " + size + " (" + kind + ")", () -> {
            BufferHead bh = mm.buffers().getblk(disk, b, size);
            mm.buffers().brelse(bh);
            return Res.SUCCESS;
        });
    }

    void pages() {
        if (valid()) {
            int order = r.nextInt(6);
            int gfp = r.nextBoolean() ? Gfp22.GFP_KERNEL : Gfp22.GFP_ATOMIC;
            call("__get_free_pages+free_pages", true, "order " + order, () -> {
                int pfn = mm.pageAlloc().allocPages(gfp, order);
                if (pfn == PageAlloc.NULL_PAGE) {
                    return Res.ERROR;
                }
                mm.pageAlloc().freePages(pfn, order);
                return Res.SUCCESS;
            });
            return;
        }
        int c = r.nextInt(4);
        if (c == 0) {
            int order = 6 + r.nextInt(5);
            // 2.2's lists end at order 5 (NR_MEM_LISTS 6): a larger order is NULL.
            call("__get_free_pages", false, "order " + order + " (above NR_MEM_LISTS)", () -> {
                int pfn = mm.pageAlloc().allocPages(Gfp22.GFP_KERNEL, order);
                if (pfn == PageAlloc.NULL_PAGE) {
                    return Res.ERROR;
                }
                mm.pageAlloc().freePages(pfn, order);
                return Res.SUCCESS;
            });
        } else if (c == 1) {
            int order = r.nextBoolean() ? -1 : 11 + r.nextInt(20);
            call("__get_free_pages", false, "order " + order + " (no such order)", () -> {
                int pfn = mm.pageAlloc().allocPages(Gfp22.GFP_KERNEL, order);
                return pfn == PageAlloc.NULL_PAGE ? Res.ERROR : Res.SUCCESS;
            });
        } else if (c == 2) {
            int gfp = MmContext.BAD_GFPS[r.nextInt(MmContext.BAD_GFPS.length)];
            call("__get_free_page", false, "gfp 0x" + Integer.toHexString(gfp) + " (unknown bits)", () -> {
                int pfn = mm.getFreePage(gfp);
                if (pfn >= 0) {
                    mm.freePage(pfn);
                }
                return pfn < 0 ? Res.ERROR : Res.SUCCESS;
            });
        } else {
            int pfn = r.nextBoolean() ? -1 - r.nextInt(100) : mm.numPhyspages() + r.nextInt(100);
            call("__free_page", false, "pfn " + pfn + " (outside mem_map)", () -> {
                mm.freePage(pfn);
                return Res.SUCCESS;
            });
        }
    }
}
