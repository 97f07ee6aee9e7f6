package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static dev.reclaimlab.mm.Gfp.GFP_KERNEL;
import static org.assertj.core.api.Assertions.assertThat;

/** The flusher: 3.14's background, kupdate and reclaim-queued writeback, and the emulated one of 4.3 and later. */
@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m", kswapd = false, version = "3.14", hungTaskTimeoutMillis = 30_000)
class FlusherTest {
    /** A cache whose pages stay dirty: reclaim scans them and frees none. */
    private static final AddressSpaceOperations NEVER_WRITES = new AddressSpaceOperations() {
        @Override
        public int readpage(AddressSpace mapping, int page) {
            throw new UnsupportedOperationException("never read");
        }

        @Override
        public int writepage(AddressSpace mapping, int page, WritebackControl wbc) {
            return AOP_WRITEPAGE_ACTIVATE;
        }
    };

    @ParameterizedTest
    @ValueSource(strings = {"3.14", "4.3", "5.3"})
    void theEmulatedFlusherIsKeptFor43AndLaterAnd314RunsTheKernelsRules(String version, Kernels kernels) {
        KernelVersion v = KernelVersion.parse(version);
        Kernel k = kernels.boot(b -> b.version(v));
        assertThat(k.config().has(Flusher.FLUSHER_EMULATED)).isEqualTo(v.atLeast(KernelVersion.V4_3));
    }

    @Test
    void the314FlusherWritesNothingBelowTheBackgroundThresholdAndWritesDownToItAbove(Kernel k) {
        Mm mm = k.mm();
        TestFs fs = new TestFs(k);
        AddressSpace m = mm.addressSpaceCreate("file", fs);
        Flusher flusher = mm.writeback().flusherModel();
        long bg = mm.writeback().dirtyLimits(mm.writeback().flusher())[0];
        long below = bg / 4;
        for (long i = 0; i < below; i++) {
            assertThat(fs.writePage(m, i, i)).isZero();
        }
        flusher.wbDoWriteback(k.currentTask());
        assertThat(mm.vmstat().get(VmStatItem.NR_DIRTY)).as("below dirty_background_ratio nothing is written")
                .isEqualTo(below);
        assertThat(fs.writepages.get()).isZero();
        assertThat(flusher.overBgroundThresh(m.bdi())).isFalse();
        long above = bg + 64;
        for (long i = below; i < above; i++) {
            assertThat(fs.writePage(m, i, i)).isZero();
        }
        flusher.wbDoWriteback(k.currentTask());
        assertThat(fs.writepages.get()).as("over the background threshold the flusher writes").isPositive();
        assertThat(mm.vmstat().get(VmStatItem.NR_DIRTY) + mm.vmstat().get(VmStatItem.NR_UNSTABLE_NFS))
                .as("background writeback stops once below the threshold").isLessThanOrEqualTo(bg);
        assertThat(mm.writeback().backgroundWritebackPasses()).isPositive();
        mm.writeback().filemapWriteAndWait(m);
        mm.addressSpaceDestroy(m);
    }

    @ParameterizedTest
    @ValueSource(strings = {"3.14", "4.3"})
    void directReclaimThatScansPastItsTargetQueuesAFlusherWorkIn314Only(String version, Kernels kernels) {
        KernelVersion v = KernelVersion.parse(version);
        Kernel k = kernels.boot(b -> b.version(v));
        Mm mm = k.mm();
        AddressSpace m = mm.addressSpaceCreate("dirty", NEVER_WRITES);
        for (long i = 0; i < 256; i++) {
            int pfn = mm.filemap().grabCachePageWriteBegin(m, i);
            mm.filemap().setPageUptodate(pfn);
            mm.filemap().setPageDirty(pfn);
            mm.filemap().unlockPage(pfn);
            mm.filemap().putPage(pfn);
        }
        assertThat(mm.writeback().inodeDirty(m)).isTrue();
        mm.tryToFreePages(GFP_KERNEL);
        if (v.atLeast(KernelVersion.V4_3)) {
            assertThat(mm.writeback().reclaimFlusherWakeups()).as("the emulated flusher has no such work").isZero();
        } else {
            assertThat(mm.writeback().reclaimFlusherWakeups())
                    .as("wakeup_flusher_threads(total_scanned) once a pass scanned more than 48 pages").isPositive();
        }
        for (long i = 0; i < 256; i++) {
            int pfn = mm.filemap().findLockPage(m, i);
            if (pfn >= 0) {
                mm.filemap().clearPageDirtyForIo(pfn);
                mm.filemap().unlockPage(pfn);
                mm.filemap().putPage(pfn);
            }
        }
        mm.addressSpaceDestroy(m);
    }
}
