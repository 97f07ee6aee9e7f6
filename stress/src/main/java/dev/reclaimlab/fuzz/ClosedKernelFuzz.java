package dev.reclaimlab.fuzz;

import dev.reclaimlab.block.Bio;
import dev.reclaimlab.block.RamDisk;
import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.fs.xfs.Xfs;
import dev.reclaimlab.fuzz.Harness.Res;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelConfig;
import dev.reclaimlab.mm.AddressSpace;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.KmemCache;
import dev.reclaimlab.mm.Mm;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.mm.XArray;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Calls into a kernel that was closed, with the pages, objects, caches, mappings, arrays, files and bios
 * it handed out while it lived: each must be refused with a clear exception, never touch freed mem_map.
 */
final class ClosedKernelFuzz {
    private final Harness h;
    private final SplittableRandom r;
    private final Kernel k;
    private final List<Runnable> calls = new ArrayList<>();
    private final List<String> names = new ArrayList<>();

    ClosedKernelFuzz(Harness h, SplittableRandom r) {
        this.h = h;
        this.r = r;
        this.k = Kernel.boot(KernelConfig.builder().memory("8m").kswapd(false).watchdog(false).build());
        k.currentTask();
        Mm mm = k.mm();
        int pfn = mm.allocPages(Gfp.GFP_KERNEL, 0);
        long obj = mm.kmalloc(64, Gfp.GFP_KERNEL);
        KmemCache cache = mm.kmemCacheCreate("doomed", 48, 0, 0);
        long cobj = mm.kmemCacheAlloc(cache, Gfp.GFP_KERNEL);
        AddressSpace mapping = mm.addressSpaceCreate("doomed-file", new RamAops(mm));
        XArray xa = new XArray(mm, "doomed-xa");
        xa.xaStore(1, 1, Gfp.GFP_KERNEL);
        RamDisk ram = new RamDisk(k, 0, 4 << 20);
        Xfs xfs = Xfs.mount(k, ram);
        Vfs vfs = xfs.vfs();
        File f = vfs.create("/", "f");
        vfs.write(f, 0, new byte[100]);
        k.close();
        long va = PhysMem.PAGE_OFFSET + 4096;
        add("allocPages", () -> mm.allocPages(Gfp.GFP_KERNEL, 0));
        add("freePages", () -> mm.freePages(pfn, 0));
        add("getPage", () -> mm.pageAlloc().getPage(pfn));
        add("putPage", () -> mm.pageAlloc().putPage(pfn));
        add("pageCount", () -> mm.pageAlloc().pageCount(pfn));
        add("pageAddress", () -> mm.pageAddress(pfn));
        add("kmalloc", () -> mm.kmalloc(64, Gfp.GFP_KERNEL));
        add("kfree", () -> mm.kfree(obj));
        add("ksize", () -> mm.kmallocCaches().ksize(obj));
        add("kmemCacheAlloc", () -> mm.kmemCacheAlloc(cache, Gfp.GFP_KERNEL));
        add("kmemCacheFree", () -> mm.kmemCacheFree(cache, cobj));
        add("kmemCacheCreate", () -> mm.kmemCacheCreate("late", 32, 0, 0));
        add("kmemCacheShrink", () -> mm.slub().kmemCacheShrink(cache));
        add("kmemCacheValidate", () -> mm.slub().kmemCacheValidate(cache));
        add("kmemCacheDestroy", () -> mm.slub().kmemCacheDestroy(cache));
        add("pageDirty", () -> mm.filemap().pageDirty(pfn));
        add("setPageDirty", () -> mm.filemap().setPageDirty(pfn));
        add("lockPage", () -> mm.filemap().lockPage(pfn));
        add("findGetPage", () -> mm.filemap().findGetPage(mapping, 0));
        add("readCachePage", () -> mm.filemap().readCachePage(mapping, 0, Gfp.GFP_KERNEL));
        add("addressSpaceCreate", () -> mm.addressSpaceCreate("late", new RamAops(mm)));
        add("addressSpaceDestroy", () -> mm.addressSpaceDestroy(mapping));
        add("xaLoad", () -> xa.xaLoad(1));
        add("xaStore", () -> xa.xaStore(2, 2, Gfp.GFP_KERNEL));
        add("getLong", () -> mm.mem().getLong(va));
        add("putLong", () -> mm.mem().putLong(va, 1));
        add("memset", () -> mm.mem().memset(va, 0, 64));
        add("copyIn", () -> mm.mem().copyIn(va, new byte[8], 0, 8));
        add("drainAllPages", () -> mm.pageAlloc().drainAllPages());
        add("shrinkAllCaches", () -> mm.slub().shrinkAllCaches());
        add("tryToFreePages", () -> mm.tryToFreePages(Gfp.GFP_KERNEL));
        add("shrinkSlab", () -> mm.shrinkSlab(Gfp.GFP_KERNEL, 0));
        add("freeBlockOrderContaining", () -> mm.pageAlloc().freeBlockOrderContaining(0));
        add("vfs.read", () -> vfs.read(f, 0, 10));
        add("vfs.write", () -> vfs.write(f, 0, new byte[10]));
        add("vfs.fsync", () -> vfs.fsync(f));
        add("vfs.close", () -> vfs.close(f));
        add("vfs.open", () -> vfs.open("/f"));
        add("vfs.create", () -> vfs.create("/", "g"));
        add("vfs.readdir", () -> vfs.readdir("/"));
        add("submitBio", () -> {
            Bio b = new Bio(Bio.Op.READ, 0, 1);
            b.addPage(pfn, PhysMem.PAGE_SIZE, 0);
            ram.submitBio(b);
        });
    }

    private void add(String name, Runnable call) {
        names.add(name);
        calls.add(call);
    }

    void step() {
        int i = r.nextInt(calls.size());
        Runnable c = calls.get(i);
        h.call(null, names.get(i), false, "closed kernel", () -> {
            c.run();
            return Res.SUCCESS;
        });
    }

    /** The closed kernel's memory is all given back. */
    void finish(FuzzStats stats) {
        stats.integrity(k.mm().offHeapBytes() == 0, "closed kernel: " + k.mm().offHeapBytes()
                + " off-heap bytes after close");
    }
}
