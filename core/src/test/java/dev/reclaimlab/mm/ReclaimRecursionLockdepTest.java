package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.LockdepReport;
import dev.reclaimlab.locking.Mutex;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;

import static dev.reclaimlab.mm.Gfp.GFP_KERNEL;
import static dev.reclaimlab.mm.Gfp.GFP_NOFS;
import static dev.reclaimlab.mm.Gfp.GFP_NOWAIT;
import static dev.reclaimlab.mm.Gfp.__GFP_FS;
import static org.assertj.core.api.Assertions.assertThat;

/** The fs_reclaim annotation wired through the real page and slab allocators and shrink_slab(). */
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

    @Test
    void ilockHeldAcrossGfpKernelAndTakenByTheShrinkerInReclaimIsACircularDependency(Kernel k) {
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
        assertThat(r.type()).isEqualTo(LockdepReport.Type.CIRCULAR);
        assertThat(r.classes()).containsExactlyInAnyOrder("xfs_ilock", "fs_reclaim");
        assertThat(r.text()).contains("WARNING: possible circular locking dependency detected")
                .contains("mightAlloc").contains("scanObjects");
    }

    @Test
    void theSameAllocationUnderGfpNofsOrANofsScopeRecordsNothing(Kernel k) {
        Mm mm = k.mm();
        InodeShrinker s = new InodeShrinker(false);
        mm.shrinkers().registerShrinker(s);
        Mutex ilock = new Mutex("ip->i_ilock", XFS_ILOCK);
        ilock.mutexLock();
        mm.kfree(mm.kmalloc(256, GFP_NOFS));
        try (var nofs = SchedMm.nofsScope()) {
            mm.kfree(mm.kmalloc(256, GFP_KERNEL));
        }
        ilock.mutexUnlock();
        pressure(k);
        assertThat(mm.allocPages(GFP_KERNEL, 0)).isNotEqualTo(PageAlloc.NULL_PAGE);
        assertThat(s.scans).isPositive();
        assertThat(k.lockdep().reports()).isEmpty();
    }

    @Test
    void aTrylockInTheShrinkerAddsNoEdge(Kernel k) {
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
