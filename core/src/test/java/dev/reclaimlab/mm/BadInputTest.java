package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntConsumer;

import static dev.reclaimlab.mm.Gfp.GFP_KERNEL;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** DESIGN.md rule 8 at mm's public boundary: every bad pfn, page, cache, address or region is refused by name. */
@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m", kswapd = false)
class BadInputTest {
    private static final int[] BAD_PFNS = {-1, Integer.MIN_VALUE, 4096, Integer.MAX_VALUE};

    /** Every Filemap entry point that takes a pfn, by name. */
    private static Map<String, IntConsumer> pfnAccessors(Filemap fm) {
        Map<String, IntConsumer> m = new LinkedHashMap<>();
        m.put("trylockPage", fm::trylockPage);
        m.put("lockPage", fm::lockPage);
        m.put("unlockPage", fm::unlockPage);
        m.put("setPageLockOwner", p -> fm.setPageLockOwner(p, null));
        m.put("pageLocked", fm::pageLocked);
        m.put("pageUptodate", fm::pageUptodate);
        m.put("setPageUptodate", fm::setPageUptodate);
        m.put("pageDirty", fm::pageDirty);
        m.put("pageWriteback", fm::pageWriteback);
        m.put("setPagePrivate", fm::setPagePrivate);
        m.put("clearPagePrivate", fm::clearPagePrivate);
        m.put("pagePrivate", fm::pagePrivate);
        m.put("pageMapping", fm::pageMapping);
        m.put("pageIndex", fm::pageIndex);
        m.put("setPageDirty", fm::setPageDirty);
        m.put("clearPageDirtyForIo", fm::clearPageDirtyForIo);
        m.put("setPageWriteback", p -> fm.setPageWriteback(p, null));
        m.put("setPageWritebackOwner", p -> fm.setPageWritebackOwner(p, null));
        m.put("endPageWriteback", fm::endPageWriteback);
        m.put("waitOnPageWriteback", fm::waitOnPageWriteback);
        m.put("markPageAccessed", fm::markPageAccessed);
        m.put("putPage", fm::putPage);
        return m;
    }

    @Test
    void everyPageCacheAccessorRefusesAPfnOutsideMemMapByName(Kernel k) {
        int nr = k.mm().mem().nrPages();
        assertThat(nr).isEqualTo(4096);
        pfnAccessors(k.mm().filemap()).forEach((name, op) -> {
            for (int pfn : BAD_PFNS) {
                assertThatThrownBy(() -> op.accept(pfn)).as(name + "(" + pfn + ")")
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessage("pfn " + pfn + " outside mem_map [0, " + nr + ") in " + name);
            }
        });
        PageAlloc pa = k.mm().pageAlloc();
        for (int pfn : BAD_PFNS) {
            assertThatThrownBy(() -> pa.getPage(pfn)).hasMessageContaining("outside mem_map");
            assertThatThrownBy(() -> pa.putPage(pfn)).hasMessageContaining("outside mem_map");
            assertThatThrownBy(() -> pa.pageCount(pfn)).hasMessageContaining("outside mem_map");
            assertThatThrownBy(() -> k.mm().pageAddress(pfn)).hasMessageContaining("outside mem_map");
        }
    }

    @Test
    void pageStateChangesOnAFreePageAreRefusedAndCountNothing(Kernel k) {
        Mm mm = k.mm();
        Filemap fm = mm.filemap();
        int pfn = mm.allocPages(GFP_KERNEL, 0);
        mm.freePages(pfn, 0);
        long dirty = mm.vmstat().get(VmStatItem.NR_DIRTY);
        long writeback = mm.vmstat().get(VmStatItem.NR_WRITEBACK);
        for (String name : new String[] {"setPageDirty", "setPageWriteback", "setPageUptodate", "setPagePrivate",
            "lockPage", "trylockPage", "markPageAccessed", "endPageWriteback", "clearPageDirtyForIo"}) {
            assertThatThrownBy(() -> pfnAccessors(fm).get(name).accept(pfn)).as(name)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(name + ": pfn " + pfn + " is not a page the caller holds (it is free)");
        }
        assertThat(mm.vmstat().get(VmStatItem.NR_DIRTY)).isEqualTo(dirty);
        assertThat(mm.vmstat().get(VmStatItem.NR_WRITEBACK)).isEqualTo(writeback);
        assertThat(fm.pageDirty(pfn)).as("reading a free page's flags is fine").isFalse();
    }

    @Test
    void aDirtyPageOutsideAnyCacheIsNotCountedAsDirtyPageCache(Kernel k) {
        Mm mm = k.mm();
        Filemap fm = mm.filemap();
        int pfn = mm.allocPages(GFP_KERNEL, 0);
        long dirty = mm.vmstat().get(VmStatItem.NR_DIRTY);
        assertThat(fm.setPageDirty(pfn)).isTrue();
        assertThat(mm.vmstat().get(VmStatItem.NR_DIRTY)).isEqualTo(dirty);
        AddressSpace m = mm.addressSpaceCreate("file", new NoIo());
        assertThatThrownBy(() -> fm.addToPageCacheLru(pfn, m, 0, GFP_KERNEL))
                .hasMessageContaining("not a new page (flags dirty)");
        assertThat(fm.clearPageDirtyForIo(pfn)).isTrue();
        assertThat(mm.vmstat().get(VmStatItem.NR_DIRTY)).isEqualTo(dirty);
        mm.freePages(pfn, 0);
        mm.addressSpaceDestroy(m);
    }

    @Test
    void slabAndLargeKmallocPagesAreTheirAllocatorsToFree(Kernel k) {
        Mm mm = k.mm();
        long obj = mm.kmalloc(64, GFP_KERNEL);
        int slab = mm.mem().virtToPfn(obj);
        long big = mm.kmalloc(3 * PhysMem.PAGE_SIZE, GFP_KERNEL);
        int large = mm.mem().virtToPfn(big);
        long freeBefore = mm.pageAlloc().nrFreePages();
        assertThatThrownBy(() -> mm.freePages(slab, 0)).hasMessageContaining("slab page");
        assertThatThrownBy(() -> mm.pageAlloc().putPage(slab)).hasMessageContaining("slab page");
        assertThatThrownBy(() -> mm.pageAlloc().getPage(slab)).hasMessageContaining("slab page");
        assertThatThrownBy(() -> mm.freePages(large, 2)).hasMessageContaining("large kmalloc; kfree() it");
        assertThatThrownBy(() -> mm.pageAlloc().putPage(large)).hasMessageContaining("large kmalloc");
        assertThatThrownBy(() -> mm.filemap().lockPage(slab)).as("PG_locked of a slab is slab_lock()")
                .hasMessageContaining("a slab page");
        assertThat(mm.pageAlloc().nrFreePages()).isEqualTo(freeBefore);
        mm.kfree(obj);
        mm.kfree(big);
        assertThatThrownBy(() -> mm.kfree(big)).hasMessageContaining("not a kmalloc'ed object");
    }

    @Test
    void theLastReferenceToALockedWritebackOrCachedPageStays(Kernel k) {
        Mm mm = k.mm();
        Filemap fm = mm.filemap();
        int pfn = mm.allocPages(GFP_KERNEL, 0);
        assertThat(fm.trylockPage(pfn)).isTrue();
        assertThatThrownBy(() -> mm.freePages(pfn, 0)).hasMessageContaining("Bad page state")
                .hasMessageContaining("is still locked");
        assertThat(mm.pageAlloc().pageCount(pfn)).isEqualTo(1);
        fm.unlockPage(pfn);
        fm.setPageWriteback(pfn, null);
        assertThatThrownBy(() -> fm.putPage(pfn)).hasMessageContaining("under writeback");
        fm.endPageWriteback(pfn);
        mm.freePages(pfn, 0);

        AddressSpace m = mm.addressSpaceCreate("file", new NoIo());
        int cached = mm.allocPages(GFP_KERNEL, 0);
        assertThat(fm.addToPageCacheLru(cached, m, 7, GFP_KERNEL)).isZero();
        fm.unlockPage(cached);
        fm.putPage(cached);
        assertThatThrownBy(() -> fm.putPage(cached)).as("one put too many: the cache's own reference")
                .hasMessageContaining("still in a page cache");
        assertThat(fm.findGetPage(m, 7)).isEqualTo(cached);
        fm.putPage(cached);
        mm.addressSpaceDestroy(m);
        assertThat(mm.pageAlloc().pageCount(cached)).isZero();
    }

    @Test
    void aPageAtTheLastIndexIsWalkedPastWithoutOverflow(Kernel k) {
        Mm mm = k.mm();
        Filemap fm = mm.filemap();
        AddressSpace m = mm.addressSpaceCreate("file", new NoIo());
        int pfn = mm.allocPages(GFP_KERNEL, 0);
        assertThat(fm.addToPageCacheLru(pfn, m, Long.MAX_VALUE, GFP_KERNEL)).isZero();
        fm.unlockPage(pfn);
        fm.putPage(pfn);
        assertThat(m.pages.xaFindAfter(Long.MAX_VALUE)).isEqualTo(-1);
        assertThat(mm.writeback().filemapWriteAndWait(m)).isZero();
        assertThat(fm.invalidateMappingPages(m, 0)).isZero();
        int again = mm.allocPages(GFP_KERNEL, 0);
        assertThat(fm.addToPageCacheLru(again, m, Long.MAX_VALUE, GFP_KERNEL)).isZero();
        fm.unlockPage(again);
        fm.putPage(again);
        fm.truncateInodePages(m, 0);
        assertThat(m.nrpages()).isZero();
        mm.addressSpaceDestroy(m);
    }

    @Test
    void writeAndWaitNeverReportsSuccessForADirtyPageItCouldNotWrite(Kernel k) {
        Mm mm = k.mm();
        Filemap fm = mm.filemap();
        // NoIo's writepage always keeps the page dirty (AOP_WRITEPAGE_ACTIVATE), as XFS does in a transaction.
        AddressSpace m = mm.addressSpaceCreate("file", new NoIo());
        int pfn = mm.allocPages(GFP_KERNEL, 0);
        assertThat(fm.addToPageCacheLru(pfn, m, 3, GFP_KERNEL)).isZero();
        fm.setPageUptodate(pfn);
        fm.setPageDirty(pfn);
        fm.unlockPage(pfn);
        assertThat(mm.writeback().filemapWriteAndWait(m)).isEqualTo(-dev.reclaimlab.kernel.Errno.EIO);
        assertThat(fm.pageDirty(pfn)).isTrue();
        assertThat(k.dmesg()).contains("1 dirty pages could not be written");
        fm.putPage(pfn);
        mm.addressSpaceDestroy(m);
        assertThat(mm.vmstat().get(VmStatItem.NR_DIRTY)).as("truncation cleaned it").isZero();
    }

    @Test
    void mappingsIndexesAndGfpsAreChecked(Kernels kernels) {
        Kernel a = kernels.boot(b -> b);
        Kernel b = kernels.boot(c -> c);
        Filemap fm = a.mm().filemap();
        AddressSpace other = b.mm().addressSpaceCreate("b-file", new NoIo());
        AddressSpace mine = a.mm().addressSpaceCreate("a-file", new NoIo());
        assertThatThrownBy(() -> fm.findGetPage(null, 0)).hasMessage("findGetPage: mapping is null");
        assertThatThrownBy(() -> fm.findGetPage(other, 0)).hasMessageContaining("belongs to another kernel");
        assertThatThrownBy(() -> fm.readCachePage(mine, -1, GFP_KERNEL)).hasMessageContaining("negative index -1");
        assertThatThrownBy(() -> fm.readCachePage(mine, 0, 1 << 30)).hasMessageContaining("unknown bits");
        a.mm().addressSpaceDestroy(mine);
        assertThatThrownBy(() -> fm.findLockPage(mine, 0)).hasMessageContaining("mapping was destroyed");
        assertThatThrownBy(() -> a.mm().addressSpaceDestroy(mine)).hasMessageContaining("already destroyed");
        assertThatThrownBy(() -> a.mm().addressSpaceDestroy(other)).hasMessageContaining("another kernel");
        b.mm().addressSpaceDestroy(other);
    }

    @Test
    void cachesAreCheckedBeforeTheirSlabsAreTouched(Kernels kernels) {
        Kernel a = kernels.boot(b -> b);
        Kernel b = kernels.boot(c -> c);
        KmemCache foreign = b.mm().kmemCacheCreate("b_objects", 32, 0, 0);
        KmemCache mine = a.mm().kmemCacheCreate("a_objects", 32, 0, 0);
        Mm mm = a.mm();
        assertThatThrownBy(() -> mm.kmemCacheAlloc(null, GFP_KERNEL)).hasMessage("kmem_cache_alloc: cache is null");
        assertThatThrownBy(() -> mm.kmemCacheAlloc(foreign, GFP_KERNEL)).hasMessageContaining("another kernel");
        long obj = mm.kmemCacheAlloc(mine, GFP_KERNEL);
        assertThatThrownBy(() -> mm.kmemCacheFree(foreign, obj)).hasMessageContaining("another kernel");
        assertThatThrownBy(() -> mm.slub().kmemCacheShrink(null)).hasMessageContaining("cache is null");
        mm.kmemCacheFree(mine, obj);
        mm.slub().kmemCacheDestroy(mine);
        assertThatThrownBy(() -> mm.kmemCacheAlloc(mine, GFP_KERNEL)).hasMessageContaining("cache was destroyed");
        assertThatThrownBy(() -> mm.slub().kmemCacheValidate(mine)).hasMessageContaining("cache was destroyed");
        assertThatThrownBy(() -> mm.kmallocCaches().kmallocSlab(0)).hasMessageContaining("size 0 is not positive");
        assertThatThrownBy(() -> mm.slub().kmemCacheDestroy(mm.kmallocCaches().kmallocSlab(64)))
                .hasMessageContaining("the kernel's own cache");
        assertThatThrownBy(() -> mm.slub().kmemCacheDestroy(mm.radixTreeNodeCache())).hasMessageContaining("own cache");
        long o = mm.kmalloc(100, GFP_KERNEL);
        mm.kfree(o);
        assertThatThrownBy(() -> mm.kmallocCaches().ksize(o)).hasMessageContaining("not an allocated object");
        assertThatThrownBy(() -> mm.kmallocCaches().ksize(o + 8)).hasMessageContaining("not an allocated object");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void kmallocOfAPowerOfTwoIsNaturallyAligned(boolean slubDebug, Kernels kernels) {
        Kernel k = kernels.boot(b -> b.slubDebug(slubDebug));
        for (int size = 8; size <= KmallocCaches.KMALLOC_MAX_CACHE_SIZE; size <<= 1) {
            long[] objs = new long[5];
            for (int i = 0; i < objs.length; i++) {
                objs[i] = k.mm().kmalloc(size, GFP_KERNEL);
                assertThat(objs[i] & (size - 1)).as("kmalloc(%d) at 0x%x", size, objs[i]).isZero();
            }
            for (long o : objs) {
                k.mm().kfree(o);
            }
        }
    }

    @Test
    void aStrayWriteIntoSlabMetadataIsReportedNotFollowedOutOfTheSlab(Kernel k) {
        Mm mm = k.mm();
        KmemCache s = mm.kmemCacheCreate("victim", 64, 0, 0);
        long a = mm.kmemCacheAlloc(s, GFP_KERNEL);
        long slabVa = a & -((long) PhysMem.PAGE_SIZE << s.order);
        // The free object after a: its link now points far beyond the slab, as an overflow could leave it.
        long meta = slabVa + s.metaOffset + (long) (s.objToIndex(a - slabVa, s.objects) + 1) * KmemCache.META_SIZE;
        mm.mem().putInt(meta, ((1 << 28) << 2) | KmemCache.META_FREE_TAG);
        assertThatThrownBy(() -> mm.kmemCacheAlloc(s, GFP_KERNEL)).isInstanceOf(SlabError.class)
                .hasMessageContaining("Freelist corrupted");
        assertThat(mm.slabReports()).anySatisfy(r -> assertThat(r).contains("BUG victim (Not tainted)"));
    }

    @Test
    void callsIntoAClosedKernelNeverTouchFreedMemMap(Kernels kernels) {
        Kernel k = kernels.boot(b -> b);
        Mm mm = k.mm();
        Filemap fm = mm.filemap();
        int pfn = mm.allocPages(GFP_KERNEL, 0);
        long obj = mm.kmalloc(64, GFP_KERNEL);
        KmemCache cache = mm.kmemCacheCreate("leftover", 48, 0, 0);
        AddressSpace m = mm.addressSpaceCreate("file", new NoIo());
        XArray xa = new XArray(mm, "xa");
        assertThat(xa.xaStore(5, 42, GFP_KERNEL)).isZero();
        k.close();
        assertThat(mm.offHeapBytes()).isZero();
        pfnAccessors(fm).forEach((name, op) -> assertThatThrownBy(() -> op.accept(pfn)).as(name)
                .isInstanceOf(IllegalStateException.class).hasMessage(name + ": kernel closed, its memory and"
                        + " mem_map are freed"));
        assertThatThrownBy(() -> mm.allocPages(GFP_KERNEL, 0)).hasMessageContaining("kernel closed");
        assertThatThrownBy(() -> mm.freePages(pfn, 0)).hasMessageContaining("kernel closed");
        assertThatThrownBy(() -> mm.pageAlloc().pageCount(pfn)).hasMessageContaining("kernel closed");
        assertThatThrownBy(() -> mm.kfree(obj)).hasMessageContaining("kernel closed");
        assertThatThrownBy(() -> mm.kmemCacheAlloc(cache, GFP_KERNEL)).hasMessageContaining("kernel closed");
        assertThatThrownBy(() -> mm.kmemCacheFree(cache, obj)).hasMessageContaining("kernel closed");
        assertThatThrownBy(() -> mm.slub().kmemCacheCreate("late", 8, 0, 0)).hasMessageContaining("kernel closed");
        assertThatThrownBy(() -> fm.findGetPage(m, 0)).hasMessageContaining("kernel closed");
        assertThatThrownBy(() -> xa.xaLoad(5)).hasMessageContaining("kernel closed");
        assertThatThrownBy(xa::rootShift).hasMessageContaining("kernel closed");
        assertThatThrownBy(() -> mm.addressSpaceCreate("late", new NoIo())).hasMessageContaining("kernel closed");
        assertThatThrownBy(() -> mm.pageAlloc().freeBlockOrderContaining(0)).hasMessageContaining("kernel closed");
        assertThatThrownBy(() -> mm.mem().getLong(PhysMem.PAGE_OFFSET)).hasMessageContaining("kernel closed");
        assertThatThrownBy(mm.pageAlloc()::drainAllPages).hasMessageContaining("kernel closed");
    }

    @Test
    void nativeCopiesCheckBothSides(Kernel k) {
        PhysMem mem = k.mm().mem();
        AtomicLong ledger = new AtomicLong();
        NativeRegion disk = NativeRegion.allocate("ram9", 8192, ledger);
        assertThat(ledger.get()).isEqualTo(8192);
        int pfn = k.mm().allocPages(GFP_KERNEL, 0);
        long va = mem.pageAddress(pfn);
        mem.memset(va, 0x5a, PhysMem.PAGE_SIZE);
        mem.copyToNative(va, disk, 4096, 4096);
        byte[] back = new byte[4];
        disk.copyOut(8188, back, 0, 4);
        assertThat(back).containsOnly((byte) 0x5a);
        assertThatThrownBy(() -> mem.copyToNative(va, disk, 4097, 4096)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessage("copyToNative: [4097, +4096) is outside ram9 [0, 8192)");
        assertThatThrownBy(() -> mem.copyFromNative(disk, -1, va, 1)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> mem.copyFromNative(disk, Long.MAX_VALUE, va, 2))
                .isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> mem.copyFromNative(disk, 0, va, -1)).hasMessageContaining("outside kernel memory");
        long end = PhysMem.PAGE_OFFSET + mem.size();
        assertThatThrownBy(() -> mem.copyToNative(end - 8, disk, 0, 16)).hasMessageContaining("outside kernel memory");
        assertThatThrownBy(() -> mem.copyToNative(va, null, 0, 1)).hasMessage("copyToNative: native region is null");
        assertThatThrownBy(() -> mem.copyIn(va, null, 0, 1)).hasMessage("copyIn: array is null");
        disk.free();
        assertThat(ledger.get()).isZero();
        assertThatThrownBy(() -> mem.copyFromNative(disk, 0, va, 8)).hasMessageContaining("ram9 is freed");
        assertThatThrownBy(disk::free).hasMessageContaining("freed twice");
        k.mm().freePages(pfn, 0);
    }

    /** A cache whose pages are filled by hand. */
    static final class NoIo implements AddressSpaceOperations {
        @Override
        public int readpage(AddressSpace mapping, int page) {
            throw new IllegalStateException("no reads in this test");
        }

        @Override
        public int writepage(AddressSpace mapping, int page, WritebackControl wbc) {
            return AOP_WRITEPAGE_ACTIVATE;
        }
    }
}
