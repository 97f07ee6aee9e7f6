package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Reclaim recursion through the fs_reclaim pseudo-lock, with a test-only allocator entry and shrinker
 * standing in for dev.reclaimlab.mm.
 */
@Timeout(30)
@ExtendWith(KernelExtension.class)
@Boot(memory = "8m", watchdog = false)
class FsReclaimLockdepTest {
    private static final LockClassKey XFS_ILOCK = new LockClassKey("xfs_ilock");

    /** kmalloc()'s lockdep hook: gfp after current_gfp_context(); GFP_KERNEL has both bits. */
    private static void kmalloc(Kernel k, boolean gfpFs) {
        k.lockdep().fsReclaimMightLock(k.currentTask(), true, gfpFs);
    }

    /** Direct reclaim running an inode shrinker that takes another inode's ILOCK. */
    private static void shrinkSlab(Kernel k, Mutex victimIlock, boolean trylock) {
        Task t = k.currentTask();
        k.lockdep().fsReclaimAcquire(t, true, true);
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
            k.lockdep().fsReclaimRelease(t, true, true);
        }
    }

    @Test
    void lockHeldAcrossGfpKernelAllocationAndTakenInShrinkerIsReported(Kernel k) {
        Mutex ilock = new Mutex("ip1->i_ilock", XFS_ILOCK);
        Mutex victim = new Mutex("ip2->i_ilock", XFS_ILOCK);
        ilock.mutexLock();
        kmalloc(k, true);
        ilock.mutexUnlock();
        shrinkSlab(k, victim, false);

        assertThat(k.lockdep().reports()).hasSize(1);
        LockdepReport r = k.lockdep().reports().get(0);
        assertThat(r.type()).isEqualTo(LockdepReport.Type.CIRCULAR);
        assertThat(r.classes()).containsExactly("xfs_ilock", "fs_reclaim");
        assertThat(r.text()).contains("is trying to acquire lock:\n (xfs_ilock){+.+.}, instance ip2->i_ilock",
                "but task is already holding lock:\n (fs_reclaim){+.+.}",
                "-> #1 (fs_reclaim):", "kmalloc (FsReclaimLockdepTest.java:", "-> #0 (xfs_ilock):",
                "shrinkSlab (FsReclaimLockdepTest.java:", "lock(fs_reclaim);", "lock(xfs_ilock);");
        assertThat(r.text()).doesNotContain("org.junit");
    }

    @Test
    void memallocNofsScopeRecordsNoFsReclaimDependency(Kernel k) {
        Task t = k.currentTask();
        Mutex ilock = new Mutex("ip1->i_ilock", XFS_ILOCK);
        ilock.mutexLock();
        int saved = t.flags();
        t.setFlags(saved | TaskFlags.PF_MEMALLOC_NOFS);
        kmalloc(k, true);
        t.setFlags(saved);
        ilock.mutexUnlock();
        shrinkSlab(k, new Mutex("ip2->i_ilock", XFS_ILOCK), false);
        assertThat(k.lockdep().reports()).isEmpty();
    }

    @Test
    void gfpNofsAllocationRecordsNoFsReclaimDependency(Kernel k) {
        Mutex ilock = new Mutex("ip1->i_ilock", XFS_ILOCK);
        ilock.mutexLock();
        kmalloc(k, false);
        ilock.mutexUnlock();
        shrinkSlab(k, new Mutex("ip2->i_ilock", XFS_ILOCK), false);
        assertThat(k.lockdep().reports()).isEmpty();
    }

    @Test
    void trylockInShrinkerAddsNoEdge(Kernel k) {
        Mutex ilock = new Mutex("ip1->i_ilock", XFS_ILOCK);
        ilock.mutexLock();
        kmalloc(k, true);
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
        kmalloc(k, true);
        t.setFlags(t.flags() & ~TaskFlags.PF_MEMALLOC);
        ilock.mutexUnlock();
        assertThat(k.lockdep().stats().directDependencies()).isZero();
    }
}
