package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

/**
 * Reclaim recursion through the fs_reclaim pseudo-lock (4.14 and later; here 5.3), with a test-only
 * allocator entry and shrinker standing in for dev.reclaimlab.mm.
 */
@Timeout(30)
@ExtendWith(KernelExtension.class)
@Boot(memory = "8m", watchdog = false, version = "5.3")
class FsReclaimLockdepTest {
    private static final LockClassKey XFS_ILOCK = new LockClassKey("xfs_ilock");

    /** kmalloc()'s lockdep hook: the gfp as the caller passes it. */
    static void kmalloc(Kernel k, int gfp) {
        k.lockdep().reclaimAllocHook(k.currentTask(), gfp);
    }

    /** Direct reclaim running an inode shrinker that takes another inode's ILOCK. */
    static void shrinkSlab(Kernel k, Mutex victimIlock, boolean trylock) {
        Task t = k.currentTask();
        k.lockdep().reclaimEnter(t, Gfp.GFP_KERNEL);
        int saved = t.flags();
        t.setFlags(saved | TaskFlags.PF_MEMALLOC);
        try {
            if (trylock) {
                if (victimIlock.mutexTrylock()) {
                    victimIlock.mutexUnlock();
                }
            } else {
                victimIlock.mutexLock();
                victimIlock.mutexUnlock();
            }
        } finally {
            t.setFlags(saved);
            k.lockdep().reclaimExit(t, Gfp.GFP_KERNEL);
        }
    }

    @Test
    void lockHeldAcrossGfpKernelAllocationAndTakenInShrinkerIsReported(Kernel k) {
        Mutex ilock = new Mutex("ip1->i_ilock", XFS_ILOCK);
        Mutex victim = new Mutex("ip2->i_ilock", XFS_ILOCK);
        ilock.mutexLock();
        kmalloc(k, Gfp.GFP_KERNEL);
        ilock.mutexUnlock();
        shrinkSlab(k, victim, false);

        assertThat(k.lockdep().reports()).hasSize(1);
        LockdepReport r = k.lockdep().reports().get(0);
        assertThat(r.type()).isEqualTo(LockdepReport.Type.CIRCULAR);
        assertThat(r.classes()).containsExactly("xfs_ilock", "fs_reclaim");
        assertThat(r.acquiring()).extracting(LockdepReport.HeldLock::className, LockdepReport.HeldLock::usage,
                LockdepReport.HeldLock::instanceName).containsExactly("xfs_ilock", "+.+.", "ip2->i_ilock");
        assertThat(r.holding()).extracting(LockdepReport.HeldLock::className, LockdepReport.HeldLock::usage)
                .containsExactly("fs_reclaim", "+.+.");
        assertThat(r.chain()).extracting(LockdepReport.ChainEntry::index, LockdepReport.ChainEntry::className)
                .containsExactly(tuple(1, "fs_reclaim"), tuple(0, "xfs_ilock"));
        assertThat(r.chain().get(0).trace()).anyMatch(f -> f.startsWith("kmalloc (FsReclaimLockdepTest.java:"));
        assertThat(r.chain().get(1).trace()).anyMatch(f -> f.startsWith("shrinkSlab (FsReclaimLockdepTest.java:"));
        assertThat(r.scenario().steps()).extracting(LockdepReport.Step::text)
                .containsExactly("lock(fs_reclaim);", "lock(xfs_ilock);", "lock(fs_reclaim);", "lock(xfs_ilock);");
        assertThat(r.stack()).noneMatch(f -> f.contains("org.junit"));
        assertThat(r.text()).contains("WARNING: possible circular locking dependency detected\n5.3.0 #1 Not tainted\n");
    }

    @Test
    void memallocNofsScopeRecordsNoFsReclaimDependency(Kernel k) {
        Task t = k.currentTask();
        Mutex ilock = new Mutex("ip1->i_ilock", XFS_ILOCK);
        ilock.mutexLock();
        int saved = t.flags();
        t.setFlags(saved | TaskFlags.PF_MEMALLOC_NOFS);
        kmalloc(k, Gfp.GFP_KERNEL);
        t.setFlags(saved);
        ilock.mutexUnlock();
        shrinkSlab(k, new Mutex("ip2->i_ilock", XFS_ILOCK), false);
        assertThat(k.lockdep().reports()).isEmpty();
    }

    @Test
    void gfpNofsAllocationRecordsNoFsReclaimDependency(Kernel k) {
        Mutex ilock = new Mutex("ip1->i_ilock", XFS_ILOCK);
        ilock.mutexLock();
        kmalloc(k, Gfp.GFP_NOFS);
        ilock.mutexUnlock();
        shrinkSlab(k, new Mutex("ip2->i_ilock", XFS_ILOCK), false);
        assertThat(k.lockdep().reports()).isEmpty();
    }

    @ParameterizedTest(name = "gfp_nolockdep={0}")
    @ValueSource(booleans = {false, true})
    void gfpNolockdepHidesTheAllocationFromLockdepInKernelsThatHaveIt(boolean has, Kernels kernels) {
        Kernel k = kernels.boot(b -> b.with(Lockdep.GFP_NOLOCKDEP, has));
        Mutex ilock = new Mutex("ip1->i_ilock", XFS_ILOCK);
        ilock.mutexLock();
        kmalloc(k, Gfp.GFP_KERNEL | Gfp.__GFP_NOLOCKDEP);
        ilock.mutexUnlock();
        shrinkSlab(k, new Mutex("ip2->i_ilock", XFS_ILOCK), false);
        assertThat(k.lockdep().reports()).hasSize(has ? 0 : 1);
    }

    @Test
    void trylockInShrinkerAddsNoEdge(Kernel k) {
        Mutex ilock = new Mutex("ip1->i_ilock", XFS_ILOCK);
        ilock.mutexLock();
        kmalloc(k, Gfp.GFP_KERNEL);
        ilock.mutexUnlock();
        int before = k.lockdep().stats().directDependencies();
        shrinkSlab(k, new Mutex("ip2->i_ilock", XFS_ILOCK), true);
        assertThat(k.lockdep().stats().directDependencies()).isEqualTo(before);
        assertThat(k.lockdep().reports()).isEmpty();
    }

    @Test
    void allocationUnderPfMemallocDoesNotTakeFsReclaim(Kernel k) {
        Task t = k.currentTask();
        Mutex ilock = new Mutex("ip1->i_ilock", XFS_ILOCK);
        ilock.mutexLock();
        t.setFlags(t.flags() | TaskFlags.PF_MEMALLOC);
        kmalloc(k, Gfp.GFP_KERNEL | Gfp.__GFP_NOMEMALLOC);
        t.setFlags(t.flags() & ~TaskFlags.PF_MEMALLOC);
        ilock.mutexUnlock();
        assertThat(k.lockdep().stats().directDependencies()).isZero();
    }

    @Test
    void kswapdHoldsFsReclaimWhileItReclaims(Kernel k) {
        Task t = k.currentTask();
        Mutex ilock = new Mutex("ip1->i_ilock", XFS_ILOCK);
        ilock.mutexLock();
        kmalloc(k, Gfp.GFP_KERNEL);
        ilock.mutexUnlock();
        t.setFlags(t.flags() | TaskFlags.PF_MEMALLOC);
        k.lockdep().kswapdReclaimEnter(t);
        Mutex victim = new Mutex("ip2->i_ilock", XFS_ILOCK);
        victim.mutexLock();
        victim.mutexUnlock();
        k.lockdep().kswapdReclaimExit(t);
        t.setFlags(t.flags() & ~TaskFlags.PF_MEMALLOC);
        assertThat(k.lockdep().reports()).extracting(LockdepReport::type).containsExactly(LockdepReport.Type.CIRCULAR);
    }

    @Test
    void theRecursiveReclaimStateApiIsGoneWithTheFsReclaimMap(Kernel k) {
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> k.lockdep().lockdepSetCurrentReclaimState(k.currentTask(), Gfp.GFP_KERNEL))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("d92a8cfcb37e");
    }
}
