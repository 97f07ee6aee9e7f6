package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.LockdepReport;
import dev.reclaimlab.locking.Mutex;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;

import static dev.reclaimlab.mm.Gfp.GFP_KERNEL;
import static dev.reclaimlab.mm.Gfp.GFP_NOFS;
import static dev.reclaimlab.mm.Gfp.GFP_NOWAIT;
import static dev.reclaimlab.mm.Gfp.__GFP_FS;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Lockdep's reclaim annotation wired through the real page and slab allocators and shrink_slab(), in both
 * of its forms: 4.3's RECLAIM_FS usage state and 5.3's fs_reclaim map see the same recursion.
 */
@Timeout(30)
@ExtendWith(KernelExtension.class)
// No kswapd: the edges must come from this task's own allocation and direct reclaim.
@Boot(memory = "16m", watchdog = false, kswapd = false)
class ReclaimRecursionLockdepTest {
    private static final LockClassKey XFS_ILOCK = new LockClassKey("xfs_ilock");

    /** An inode-cache shrinker that locks the inode it reclaims, as xfs_reclaim_inode() took the ILOCK. */
    private static final class InodeShrinker implements Shrinker {
        final Mutex victimIlock = new Mutex("victim->i_ilock", XFS_ILOCK);
        final boolean trylock;
        int scans;

        InodeShrinker(boolean trylock) {
            this.trylock = trylock;
        }

        @Override
        public String name() {
            return "xfs-inode-test";
        }

        @Override
        public long countObjects(ShrinkControl sc) {
            return 1024;
        }

        @Override
        public long scanObjects(ShrinkControl sc) {
            if ((sc.gfpMask & __GFP_FS) == 0) {
                return SHRINK_STOP;
            }
            scans++;
            if (trylock) {
                if (victimIlock.mutexTrylock()) {
                    victimIlock.mutexUnlock();
                }
            } else {
                victimIlock.mutexLock();
                victimIlock.mutexUnlock();
            }
            return 0;
        }
    }

    /** Direct reclaim runs the shrinkers, then gives back pages the test parked. */
    private static List<Integer> pressure(Kernel k) {
        Mm mm = k.mm();
        List<Integer> parked = new ArrayList<>();
        for (int pfn; (pfn = mm.allocPages(GFP_NOWAIT, 0)) != PageAlloc.NULL_PAGE; ) {
            parked.add(pfn);
        }
        mm.pageAlloc().setReclaimHooks(new ReclaimHooks() {
            @Override
            public void wakeupKswapd(int order, int gfp) {
            }

            @Override
            public long tryToFreePages(int gfp, int order) {
                mm.shrinkSlab(gfp, 0);
                long n = 0;
                while (!parked.isEmpty() && n < 64) {
                    mm.freePages(parked.remove(parked.size() - 1), 0);
                    n++;
                }
                return n;
            }
        });
        return parked;
    }

    @ParameterizedTest(name = "linux-{0}")
    @ValueSource(strings = {"4.3", "5.3"})
    void ilockHeldAcrossGfpKernelAndTakenByTheShrinkerInReclaimIsReported(String version, Kernels kernels) {
        Kernel k = kernels.boot(b -> b.version(KernelVersion.parse(version)));
        Mm mm = k.mm();
        InodeShrinker s = new InodeShrinker(false);
        mm.shrinkers().registerShrinker(s);
        Mutex ilock = new Mutex("ip->i_ilock", XFS_ILOCK);
        ilock.mutexLock();
        long obj = mm.kmalloc(256, GFP_KERNEL);
        ilock.mutexUnlock();
        mm.kfree(obj);
        assertThat(k.lockdep().reports()).as("no reclaim yet, nothing to report").isEmpty();

        pressure(k);
        int pfn = mm.allocPages(GFP_KERNEL, 0);
        assertThat(pfn).isNotEqualTo(PageAlloc.NULL_PAGE);
        assertThat(s.scans).isPositive();
        assertThat(k.lockdep().reports()).hasSize(1);
        LockdepReport r = k.lockdep().reports().get(0);
        if (version.equals("4.3")) {
            assertThat(r.type()).isEqualTo(LockdepReport.Type.INCONSISTENT_USAGE);
            assertThat(r.classes()).containsExactly("xfs_ilock");
            assertThat(r.usageConflict().previous()).isEqualTo("RECLAIM_FS-ON-W");
            assertThat(r.usageConflict().next()).isEqualTo("IN-RECLAIM_FS-W");
            assertThat(r.usageConflict().registeredAt()).anyMatch(f -> f.startsWith("mightAlloc "));
            assertThat(r.acquiring().usage()).isEqualTo("+.+.?.");
        } else {
            assertThat(r.type()).isEqualTo(LockdepReport.Type.CIRCULAR);
            assertThat(r.classes()).containsExactly("xfs_ilock", "fs_reclaim");
            assertThat(r.chain().get(0).trace()).anyMatch(f -> f.startsWith("mightAlloc "));
        }
        assertThat(r.stack()).anyMatch(f -> f.startsWith("scanObjects "));
    }

    @ParameterizedTest(name = "linux-{0}")
    @ValueSource(strings = {"4.3", "5.3"})
    void theSameAllocationUnderGfpNofsRecordsNothing(String version, Kernels kernels) {
        Kernel k = kernels.boot(b -> b.version(KernelVersion.parse(version)));
        Mm mm = k.mm();
        InodeShrinker s = new InodeShrinker(false);
        mm.shrinkers().registerShrinker(s);
        Mutex ilock = new Mutex("ip->i_ilock", XFS_ILOCK);
        ilock.mutexLock();
        mm.kfree(mm.kmalloc(256, GFP_NOFS));
        ilock.mutexUnlock();
        pressure(k);
        assertThat(mm.allocPages(GFP_KERNEL, 0)).isNotEqualTo(PageAlloc.NULL_PAGE);
        assertThat(s.scans).isPositive();
        assertThat(k.lockdep().reports()).isEmpty();
    }

    /** 4.12's scope API is applied by lockdep too (6d7225f0cc1a); 4.3 had neither. */
    @Test
    @Boot(memory = "16m", watchdog = false, kswapd = false, version = "5.3")
    void aGfpKernelAllocationInANofsScopeRecordsNothing(Kernel k) {
        Mm mm = k.mm();
        InodeShrinker s = new InodeShrinker(false);
        mm.shrinkers().registerShrinker(s);
        Mutex ilock = new Mutex("ip->i_ilock", XFS_ILOCK);
        ilock.mutexLock();
        try (var nofs = SchedMm.nofsScope()) {
            mm.kfree(mm.kmalloc(256, GFP_KERNEL));
        }
        ilock.mutexUnlock();
        pressure(k);
        assertThat(mm.allocPages(GFP_KERNEL, 0)).isNotEqualTo(PageAlloc.NULL_PAGE);
        assertThat(s.scans).isPositive();
        assertThat(k.lockdep().reports()).isEmpty();
    }

    @ParameterizedTest(name = "linux-{0}")
    @ValueSource(strings = {"4.3", "5.3"})
    void aTrylockInTheShrinkerAddsNoEdge(String version, Kernels kernels) {
        Kernel k = kernels.boot(b -> b.version(KernelVersion.parse(version)));
        Mm mm = k.mm();
        InodeShrinker s = new InodeShrinker(true);
        mm.shrinkers().registerShrinker(s);
        Mutex ilock = new Mutex("ip->i_ilock", XFS_ILOCK);
        ilock.mutexLock();
        mm.kfree(mm.kmalloc(256, GFP_KERNEL));
        ilock.mutexUnlock();
        pressure(k);
        assertThat(mm.allocPages(GFP_KERNEL, 0)).isNotEqualTo(PageAlloc.NULL_PAGE);
        assertThat(s.scans).isPositive();
        assertThat(k.lockdep().reports()).isEmpty();
    }
}
