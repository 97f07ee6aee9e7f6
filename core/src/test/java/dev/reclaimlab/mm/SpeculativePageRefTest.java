package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A page-cache lookup reads a pfn without a lock and takes a speculative reference (get_page_unless_zero)
 * before it checks the page is still the one it looked for; meanwhile the page may have been truncated,
 * freed and reused, as a slab page too. Dropping that reference must work on whatever the page became
 * (xfs-on-loop hit "putPage: it is a slab page" in 2 of 20 runs before this was so).
 */
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m", kswapd = false)
class SpeculativePageRefTest {

    @Test
    void aSpeculativeReferenceOnAPageReusedAsASlabIsDroppedAndTheLastOneFreesIt(Kernel k) {
        Mm mm = k.mm();
        KmemCache c = mm.slub().kmemCacheCreate("spec_ref", 512, 0, 0);
        long obj = mm.kmemCacheAlloc(c, Gfp.GFP_KERNEL);
        int slab = mm.mem().virtToPfn(obj);
        MemMap map = mm.memMap();
        assertThat(map.testFlag(slab, PageFlags.PG_slab)).isTrue();
        // The lookup's speculative reference lands on the slab page; the recheck rejects it and drops it.
        assertThat(map.getPageUnlessZero(slab)).isTrue();
        mm.pageAlloc().putPageSpeculative(slab);
        assertThat(map.refcount(slab)).isEqualTo(1);
        assertThat(map.testFlag(slab, PageFlags.PG_slab)).isTrue();
        // The slab is discarded while the lookup still holds its reference: the lookup's put frees the page.
        assertThat(map.getPageUnlessZero(slab)).isTrue();
        mm.kmemCacheFree(c, obj);
        mm.slub().kmemCacheDestroy(c);
        assertThat(map.refcount(slab)).as("the lookup's reference keeps the page").isEqualTo(1);
        long free = mm.pageAlloc().nrFreePages();
        mm.pageAlloc().putPageSpeculative(slab);
        mm.pageAlloc().drainAllPages();
        assertThat(map.refcount(slab)).isZero();
        assertThat(mm.pageAlloc().nrFreePages()).isGreaterThan(free);
    }
}
