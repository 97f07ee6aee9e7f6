package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import static dev.reclaimlab.mm.Gfp.GFP_KERNEL;
import static dev.reclaimlab.mm.Gfp.GFP_NOFS;
import static org.assertj.core.api.Assertions.assertThat;

/** mm/workingset.c as in 4.3: shadows where reclaim evicts, refaults over them, the shadow-node shrinker. */
@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m", kswapd = false)
class WorkingsetTest {

    /** Writes {@code indexes} with their own seeds, writes them back, and reclaims until none is cached. */
    private static AddressSpace evicted(Kernel k, TestFs fs, long... indexes) {
        Mm mm = k.mm();
        AddressSpace m = mm.addressSpaceCreate("f", fs);
        for (long i : indexes) {
            assertThat(fs.writePage(m, i, 1000 + i)).isZero();
        }
        mm.writeback().filemapWriteAndWait(m);
        for (int round = 0; m.nrpages() > 0 && round < 1000; round++) {
            mm.tryToFreePages(GFP_NOFS);
        }
        assertThat(m.nrpages()).as("reclaim evicted every page").isZero();
        return m;
    }

    @Test
    void reclaimLeavesShadowsWhoseLeavesOutliveThePagesAndAFaultOverOneIsARefault(Kernel k) {
        Mm mm = k.mm();
        TestFs fs = new TestFs(k);
        long[] idx = new long[256];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        AddressSpace m = evicted(k, fs, idx);
        assertThat(m.nrshadows()).isEqualTo(256);
        assertThat(mm.workingset().nrShadowNodes()).as("four leaves of 64, shadows only").isEqualTo(4);
        long nodes = mm.radixTreeNodeCache().activeObjects() - mm.radixTreePreload().preloaded();
        assertThat(nodes).as("the leaves and their root stay").isEqualTo(5);

        assertThat(fs.readPage(m, 5, GFP_KERNEL)).isEqualTo(1005);
        assertThat(m.nrpages()).isEqualTo(1);
        assertThat(m.nrshadows()).isEqualTo(255);
        assertThat(mm.vmstat().get(VmStatItem.WORKINGSET_REFAULT)).isEqualTo(1);
        assertThat(mm.workingset().nrShadowNodes()).as("the leaf holding a page again is off the list").isEqualTo(3);
        assertThat(mm.radixTreeNodeCache().activeObjects() - mm.radixTreePreload().preloaded())
                .as("the fault took no new node").isEqualTo(nodes);

        mm.filemap().truncateInodePages(m, 0);
        assertThat(m.nrshadows()).isZero();
        assertThat(mm.workingset().nrShadowNodes()).isZero();
        mm.addressSpaceDestroy(m);
        assertThat(mm.radixTreeNodeCache().activeObjects()).isEqualTo(mm.radixTreePreload().preloaded());
    }

    @Test
    void theShadowNodeShrinkerFreesTheOldestShadowLeavesBeyondTheirShareOfMemory(Kernel k) {
        Mm mm = k.mm();
        TestFs fs = new TestFs(k);
        long maxNodes = mm.pageAlloc().managedPages() >> 4;
        long[] idx = new long[(int) maxNodes + 100];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = (long) i * XArray.XA_CHUNK_SIZE;
        }
        // Reclaim would trim the shadows as it makes them: hold the shrinker back until they are all there.
        Shrinker s = mm.workingset().shrinker();
        mm.shrinkers().unregisterShrinker(s);
        AddressSpace m = evicted(k, fs, idx);
        mm.shrinkers().registerShrinker(s);
        ShrinkControl sc = new ShrinkControl(GFP_NOFS);
        long excess = s.countObjects(sc);
        assertThat(mm.workingset().nrShadowNodes()).as("one shadow leaf per sparse page").isEqualTo(idx.length);
        assertThat(excess).isEqualTo(idx.length - maxNodes);
        long reclaimedBefore = mm.vmstat().get(VmStatItem.WORKINGSET_NODERECLAIM);
        sc.nrToScan = excess;
        assertThat(s.scanObjects(sc)).as("works without __GFP_FS").isEqualTo(excess);
        assertThat(mm.workingset().nrShadowNodes()).isEqualTo(maxNodes);
        assertThat(s.countObjects(sc)).isZero();
        assertThat(mm.vmstat().get(VmStatItem.WORKINGSET_NODERECLAIM) - reclaimedBefore).isEqualTo(excess);
        assertThat(m.nrshadows()).isEqualTo(idx.length - excess);
        // Oldest first: the pages written (and so evicted) first lost their shadows.
        assertThat(m.pages.xaLoad(idx[0])).isZero();
        assertThat(XArray.isExceptional(m.pages.xaLoad(idx[idx.length - 1]))).isTrue();
        mm.addressSpaceDestroy(m);
        assertThat(mm.workingset().nrShadowNodes()).isZero();
        assertThat(mm.radixTreeNodeCache().activeObjects()).isEqualTo(mm.radixTreePreload().preloaded());
    }
}
