package dev.reclaimlab.fuzz;

import dev.reclaimlab.mm.AddressSpace;
import dev.reclaimlab.mm.AddressSpaceOperations;
import dev.reclaimlab.mm.Mm;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.mm.WritebackControl;

/** readpage fills a pattern and completes at once; writepage declines, so only the fuzz sets writeback. */
final class RamAops implements AddressSpaceOperations {
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
