package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelConfig;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;

import static dev.reclaimlab.mm.Gfp.GFP_KERNEL;
import static dev.reclaimlab.mm.Gfp.GFP_NOWAIT;
import static dev.reclaimlab.mm.Gfp.__GFP_ZERO;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "8m")
class BuddyAllocatorTest {

    private static final long TAG = 0x7a67000000000000L;

    private record Block(int pfn, int order, long tag) {
    }

    @Test
    @Boot(memory = "32m")
    void randomAllocFreeNeverHandsOutAPageTwiceAndCoalescesBackToMaxOrder(Kernel k) {
        PageAlloc pa = k.mm().pageAlloc();
        PhysMem mem = k.mm().mem();
        SplittableRandom rnd = new SplittableRandom(42);
        List<Block> live = new ArrayList<>();
        BitSet inUse = new BitSet(mem.nrPages());
        long nextTag = 0;
        for (int round = 0; round < 20_000; round++) {
            if (live.isEmpty() || rnd.nextInt(100) < 55) {
                int order = rnd.nextInt(100) < 70 ? 0 : rnd.nextInt(1, 6);
                int pfn = pa.allocPages(GFP_NOWAIT, order);
                if (pfn == PageAlloc.NULL_PAGE) {
                    continue;
                }
                assertThat(pfn & ((1 << order) - 1)).as("order-%d block at pfn %d is aligned", order, pfn).isZero();
                int clash = inUse.nextSetBit(pfn);
                assertThat(clash < 0 || clash >= pfn + (1 << order))
                        .as("pfn %d..%d overlaps a live block", pfn, pfn + (1 << order) - 1).isTrue();
                inUse.set(pfn, pfn + (1 << order));
                long tag = TAG | nextTag++;
                for (int i = 0; i < 1 << order; i++) {
                    mem.putLong(mem.pageAddress(pfn + i), tag);
                    mem.putLong(mem.pageAddress(pfn + i) + PhysMem.PAGE_SIZE - 8, ~tag);
                }
                live.add(new Block(pfn, order, tag));
            } else {
                Block b = live.remove(rnd.nextInt(live.size()));
                for (int i = 0; i < 1 << b.order; i++) {
                    assertThat(mem.getLong(mem.pageAddress(b.pfn + i))).isEqualTo(b.tag);
                    assertThat(mem.getLong(mem.pageAddress(b.pfn + i) + PhysMem.PAGE_SIZE - 8)).isEqualTo(~b.tag);
                }
                inUse.clear(b.pfn, b.pfn + (1 << b.order));
                pa.freePages(b.pfn, b.order);
            }
        }
        for (Block b : live) {
            pa.freePages(b.pfn, b.order);
        }
        k.mm().slub().shrinkAllCaches();
        pa.drainAllPages();
        assertThat(pa.nrFreePages()).isEqualTo(mem.nrPages());
        assertThat(pa.nrFreeBlocks(PageAlloc.MAX_PAGE_ORDER)).isEqualTo(mem.nrPages() >> PageAlloc.MAX_PAGE_ORDER);
        for (int o = 0; o < PageAlloc.MAX_PAGE_ORDER; o++) {
            assertThat(pa.nrFreeBlocks(o)).as("free blocks of order %d", o).isZero();
        }
    }

    @Test
    @Boot(memory = "4144k")
    void memoryThatIsNotAMultipleOfMaxOrderIsFreedInTheLargestAlignedBlocks(Kernel k) {
        PageAlloc pa = k.mm().pageAlloc();
        assertThat(pa.nrFreeBlocks(10)).isEqualTo(1);
        assertThat(pa.nrFreeBlocks(3)).isEqualTo(1);
        assertThat(pa.nrFreeBlocks(2)).isEqualTo(1);
        assertThat(pa.nrFreePages()).isEqualTo(1024 + 12);
    }

    @Test
    void watermarksAreDerivedFromMinFreeKbytesAsTheKernelDoes(Kernels kernels) {
        try (Kernel k = kernels.boot(KernelConfig.builder().memory("64m").build())) {
            PageAlloc pa = k.mm().pageAlloc();
            // int_sqrt(65536 kB * 16) = 1024 kB = 256 pages; low/high add max(min/4, 0.1%).
            assertThat(pa.minFreeKbytes()).isEqualTo(1024);
            assertThat(pa.minWmark()).isEqualTo(256);
            assertThat(pa.lowWmark()).isEqualTo(320);
            assertThat(pa.highWmark()).isEqualTo(384);
        }
        try (Kernel k = kernels.boot(KernelConfig.builder().memory("64m").minFreeKbytes(4096).build())) {
            assertThat(k.mm().pageAlloc().minWmark()).isEqualTo(1024);
        }
    }

    @Test
    void gfpZeroHandsOutZeroedPages(Kernel k) {
        PageAlloc pa = k.mm().pageAlloc();
        PhysMem mem = k.mm().mem();
        int dirty = pa.allocPages(GFP_KERNEL, 1);
        mem.memset(mem.pageAddress(dirty), 0x5a, 2 * PhysMem.PAGE_SIZE);
        pa.freePages(dirty, 1);
        pa.drainAllPages();
        int pfn = pa.allocPages(GFP_KERNEL | __GFP_ZERO, 1);
        for (long off = 0; off < 2 * PhysMem.PAGE_SIZE; off += 8) {
            assertThat(mem.getLong(mem.pageAddress(pfn) + off)).isZero();
        }
        pa.freePages(pfn, 1);
    }

    @Test
    void badFreesThrowNamingThePageAndNothingIsCorrupted(Kernel k) {
        PageAlloc pa = k.mm().pageAlloc();
        int pfn = pa.allocPages(GFP_KERNEL, 2);
        assertThatThrownBy(() -> pa.freePages(pfn, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("pfn " + pfn).hasMessageContaining("allocated with order 2");
        assertThatThrownBy(() -> pa.freePages(pfn + 1, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tail page of the order-2 block at pfn " + pfn);
        pa.freePages(pfn, 2);
        assertThatThrownBy(() -> pa.freePages(pfn, 2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("double free");
        assertThatThrownBy(() -> pa.freePages(-1, 0)).hasMessageContaining("outside mem_map");
        assertThatThrownBy(() -> pa.freePages(1 << 20, 0)).hasMessageContaining("outside mem_map");
        assertThatThrownBy(() -> pa.allocPages(GFP_KERNEL, 11)).hasMessageContaining("order 11 is outside");
        assertThatThrownBy(() -> pa.allocPages(GFP_KERNEL, -1)).hasMessageContaining("order -1 is outside");
        assertThatThrownBy(() -> pa.freePagesAddr(0xdeadbeefL, 0)).hasMessageContaining("outside kernel memory");
        assertThatThrownBy(() -> pa.freePagesAddr(k.mm().pageAddress(3) + 8, 0)).hasMessageContaining("not page aligned");
        pa.drainAllPages();
        assertThat(pa.nrFreePages()).isEqualTo(k.mm().mem().nrPages());
    }

    @Test
    void refcountedPageIsFreedByTheLastPut(Kernel k) {
        PageAlloc pa = k.mm().pageAlloc();
        int pfn = pa.allocPages(GFP_KERNEL, 0);
        pa.getPage(pfn);
        assertThat(pa.pageCount(pfn)).isEqualTo(2);
        pa.putPage(pfn);
        assertThat(pa.pageCount(pfn)).isEqualTo(1);
        pa.putPage(pfn);
        assertThatThrownBy(() -> pa.putPage(pfn)).hasMessageContaining("double free");
    }

    @Test
    void kernelAddressesAreCheckedBeforeTheyTouchMemory(Kernel k) {
        PhysMem mem = k.mm().mem();
        long end = PhysMem.PAGE_OFFSET + mem.size();
        assertThatThrownBy(() -> mem.getLong(end - 4)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("outside kernel memory");
        assertThatThrownBy(() -> mem.putLong(0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> mem.memset(PhysMem.PAGE_OFFSET, 0, -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> mem.copyIn(PhysMem.PAGE_OFFSET, new byte[4], 2, 4))
                .isInstanceOf(IndexOutOfBoundsException.class);
        mem.putLong(end - 8, 7);
        assertThat(mem.getLong(end - 8)).isEqualTo(7);
    }
}
