package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

/**
 * 3.14/4.3's RECLAIM_FS usage state (the default kernel is 4.3): the facts FsReclaimLockdepTest feeds the
 * fs_reclaim map, read as usage bits and checked as mark_lock_irq() and check_prev_add_irq() check them.
 */
@Timeout(30)
@ExtendWith(KernelExtension.class)
@Boot(memory = "8m", watchdog = false)
class ReclaimFsLockdepTest {
    private static final LockClassKey ILOCK = new LockClassKey("&xfs_nondir_ilock_class");
    private static final LockClassKey I_MUTEX = new LockClassKey("&sb->s_type->i_mutex_key");

    private static void kmalloc(Kernel k, int gfp) {
        k.lockdep().reclaimAllocHook(k.currentTask(), gfp);
    }

    /** Direct reclaim taking {@code victim} for write, blocking or by trylock. */
    private static void inReclaim(Kernel k, RwSemaphore victim, boolean trylock) {
        Task t = k.currentTask();
        k.lockdep().reclaimEnter(t, Gfp.GFP_KERNEL);
        int saved = t.flags();
        t.setFlags(saved | TaskFlags.PF_MEMALLOC);
        try {
            if (!trylock) {
                victim.downWrite();
                victim.upWrite();
            } else if (victim.downWriteTrylock()) {
                victim.upWrite();
            }
        } finally {
            t.setFlags(saved);
            k.lockdep().reclaimExit(t, Gfp.GFP_KERNEL);
        }
    }

    @Test
    void aClassHeldForReadAcrossAnFsAllocationAndTakenInReclaimIsInconsistentUsage(Kernel k) {
        RwSemaphore dp = new RwSemaphore("dp->i_lock", ILOCK);
        RwSemaphore victim = new RwSemaphore("victim->i_lock", ILOCK);
        dp.downRead();
        kmalloc(k, Gfp.GFP_KERNEL);
        dp.upRead();
        assertThat(k.lockdep().reports()).isEmpty();
        inReclaim(k, victim, false);
        assertThat(k.lockdep().reports()).singleElement().satisfies(r -> {
            assertThat(r.type()).isEqualTo(LockdepReport.Type.INCONSISTENT_USAGE);
            assertThat(r.usageConflict().previous()).isEqualTo("RECLAIM_FS-ON-R");
            assertThat(r.usageConflict().next()).isEqualTo("IN-RECLAIM_FS-W");
            // 7e7844226f10's 4.5 splat from kswapd: (&xfs_nondir_ilock_class){++++-+}
            assertThat(r.acquiring()).extracting(LockdepReport.HeldLock::className, LockdepReport.HeldLock::usage)
                    .containsExactly("&xfs_nondir_ilock_class", "++++-+");
            assertThat(r.scenario().steps()).extracting(LockdepReport.Step::text)
                    .containsExactly("lock(&xfs_nondir_ilock_class);", "<Interrupt>", "  lock(&xfs_nondir_ilock_class);");
            assertThat(r.text()).contains("\n=================================\n[ INFO: inconsistent lock state ]\n",
                    "inconsistent {RECLAIM_FS-ON-R} -> {IN-RECLAIM_FS-W} usage.\n",
                    " [HC0[0]:SC0[0]:HE1:SE1] takes:\n (&xfs_nondir_ilock_class){++++-+}, at: inReclaim (");
        });
    }

    @Test
    void theOtherOrderIsTheOtherInconsistency(Kernel k) {
        RwSemaphore ip = new RwSemaphore("ip->i_lock", ILOCK);
        RwSemaphore victim = new RwSemaphore("victim->i_lock", ILOCK);
        ip.downRead();
        ip.upRead();
        inReclaim(k, victim, false);
        assertThat(ip.downWriteTrylock()).isTrue();
        kmalloc(k, Gfp.GFP_KERNEL);
        ip.upWrite();
        assertThat(k.lockdep().reports()).singleElement().satisfies(r -> {
            assertThat(r.usageConflict()).extracting(LockdepReport.UsageConflict::previous,
                    LockdepReport.UsageConflict::next).containsExactly("IN-RECLAIM_FS-W", "RECLAIM_FS-ON-W");
            // a trylocked lock held across the allocation is marked too: the 4.7 splat's {++++?.}
            assertThat(r.acquiring().usage()).isEqualTo("++++?.");
            assertThat(r.acquiring().trylock()).isTrue();
            assertThat(r.usageConflict().registeredAt()).anyMatch(f -> f.startsWith("inReclaim "));
        });
    }

    @Test
    void aTrylockInReclaimOrAGfpNofsAllocationMarksNothing(Kernel k) {
        RwSemaphore ip = new RwSemaphore("ip->i_lock", ILOCK);
        RwSemaphore victim = new RwSemaphore("victim->i_lock", ILOCK);
        ip.downWrite();
        kmalloc(k, Gfp.GFP_KERNEL);
        ip.upWrite();
        inReclaim(k, victim, true);
        ip.downWrite();
        kmalloc(k, Gfp.GFP_NOFS);
        kmalloc(k, Gfp.GFP_NOWAIT);
        ip.upWrite();
        assertThat(k.lockdep().reports()).isEmpty();
        ip.downWrite();
        assertThat(k.currentTask().heldLocks().snapshot()).singleElement()
                .satisfies(h -> assertThat(h.usage()).isEqualTo("+.+.+."));
        ip.upWrite();
    }

    /** Before 4.12 the hook saw the gfp as passed: memalloc_noio (4.3's only scope) did not hide it. */
    @Test
    void aNoioScopeDoesNotHideAnAllocationFromLockdepBefore412(Kernel k) {
        Task t = k.currentTask();
        RwSemaphore ip = new RwSemaphore("ip->i_lock", ILOCK);
        ip.downWrite();
        int saved = t.flags();
        t.setFlags(saved | TaskFlags.PF_MEMALLOC_NOIO);
        kmalloc(k, Gfp.GFP_KERNEL);
        t.setFlags(saved);
        ip.upWrite();
        assertThat(k.lockdep().mayEnterFsReclaim(t, Gfp.GFP_KERNEL)).isTrue();
        ip.downWrite();
        assertThat(k.currentTask().heldLocks().snapshot().get(0).usage()).endsWith("+.");
        ip.upWrite();
    }

    @Test
    void aPfMemallocTaskWithNomemallocIsStillMarkedIn43(Kernel k) {
        Task t = k.currentTask();
        t.setFlags(t.flags() | TaskFlags.PF_MEMALLOC);
        assertThat(k.lockdep().mayEnterFsReclaim(t, Gfp.GFP_KERNEL)).isFalse();
        assertThat(k.lockdep().mayEnterFsReclaim(t, Gfp.GFP_KERNEL | Gfp.__GFP_NOMEMALLOC)).isTrue();
        t.setFlags(t.flags() & ~TaskFlags.PF_MEMALLOC);
    }

    /** ILOCK -> i_mutex exists; i_mutex becomes RECLAIM_FS-unsafe; then reclaim takes ILOCK. */
    @Test
    void aClassTakenInReclaimThatTookAnUnsafeClassIsAnInversion(Kernel k) {
        RwSemaphore ip = new RwSemaphore("ip->i_lock", ILOCK);
        Mutex dir = new Mutex("dir->i_mutex", I_MUTEX);
        ip.downWrite();
        dir.mutexLock();
        dir.mutexUnlock();
        ip.upWrite();
        dir.mutexLock();
        kmalloc(k, Gfp.GFP_KERNEL);
        dir.mutexUnlock();
        assertThat(k.lockdep().reports()).isEmpty();
        inReclaim(k, new RwSemaphore("victim->i_lock", ILOCK), false);
        assertThat(k.lockdep().reports()).singleElement().satisfies(r -> {
            assertThat(r.type()).isEqualTo(LockdepReport.Type.IRQ_INVERSION);
            assertThat(r.inversion().forwards()).isTrue();
            assertThat(r.inversion().state()).isEqualTo("RECLAIM_FS");
            assertThat(r.inversion().other().className()).isEqualTo("&sb->s_type->i_mutex_key");
            assertThat(r.classes()).containsExactly("&xfs_nondir_ilock_class", "&sb->s_type->i_mutex_key");
            assertThat(r.inversion().dependencies()).extracting(LockdepReport.ChainEntry::index,
                    LockdepReport.ChainEntry::className).containsExactly(tuple(1, "&sb->s_type->i_mutex_key"),
                    tuple(0, "&xfs_nondir_ilock_class"));
            assertThat(r.scenario().heading()).isEqualTo("Possible interrupt unsafe locking scenario");
            assertThat(r.text()).contains("just changed the state of lock:",
                    "but this lock took another, RECLAIM_FS-unsafe lock in the past:",
                    "the shortest dependencies between 2nd lock and 1st lock:");
            assertThat(r.verdict().status()).isEqualTo(LockdepReport.Verdict.Status.UNCONFIRMED);
        });
    }

    /** ILOCK is RECLAIM_FS-safe, i_mutex RECLAIM_FS-unsafe; a new ILOCK -> i_mutex joins them. */
    @Test
    void aNewDependencyFromASafeToAnUnsafeClassIsReported(Kernel k) {
        RwSemaphore ip = new RwSemaphore("ip->i_lock", ILOCK);
        Mutex dir = new Mutex("dir->i_mutex", I_MUTEX);
        inReclaim(k, new RwSemaphore("victim->i_lock", ILOCK), false);
        dir.mutexLock();
        kmalloc(k, Gfp.GFP_KERNEL);
        dir.mutexUnlock();
        assertThat(k.lockdep().reports()).isEmpty();
        ip.downWrite();
        dir.mutexLock();
        dir.mutexUnlock();
        ip.upWrite();
        assertThat(k.lockdep().reports()).singleElement().satisfies(r -> {
            assertThat(r.type()).isEqualTo(LockdepReport.Type.SAFE_UNSAFE);
            assertThat(r.title()).isEqualTo("RECLAIM_FS-safe -> RECLAIM_FS-unsafe lock order detected");
            assertThat(r.inversion().safe().className()).isEqualTo("&xfs_nondir_ilock_class");
            assertThat(r.inversion().unsafe().className()).isEqualTo("&sb->s_type->i_mutex_key");
            assertThat(r.inversion().safeAt()).anyMatch(f -> f.startsWith("inReclaim "));
            assertThat(r.text()).contains("[ INFO: RECLAIM_FS-safe -> RECLAIM_FS-unsafe lock order detected ]",
                    "which would create a new lock dependency:", "RECLAIM_FS-irq-safe lock:");
        });
    }

    /**
     * NeilBrown's 2014 annotation (RFC 06/19): nfsd serving a loop-back request counts as reclaim, so the
     * i_mutex a local task holds across a GFP_KERNEL allocation is inconsistent with nfsd's.
     */
    @Test
    void aTaskMarkedAsReclaimingMakesEveryLockItTakesInReclaim(Kernel k) {
        Mutex dirLocal = new Mutex("dir->i_mutex", I_MUTEX);
        dirLocal.mutexLock();
        kmalloc(k, Gfp.GFP_KERNEL);
        dirLocal.mutexUnlock();
        Task nfsd = k.currentTask();
        k.lockdep().lockdepSetCurrentReclaimState(nfsd, Gfp.GFP_KERNEL);
        dirLocal.mutexLock();
        dirLocal.mutexUnlock();
        k.lockdep().lockdepClearCurrentReclaimState(nfsd);
        assertThat(k.lockdep().reports()).singleElement().satisfies(r -> {
            assertThat(r.type()).isEqualTo(LockdepReport.Type.INCONSISTENT_USAGE);
            assertThat(r.usageConflict().previous()).isEqualTo("RECLAIM_FS-ON-W");
            assertThat(r.verdict().status()).as("the same i_mutex on both sides").isEqualTo(
                    LockdepReport.Verdict.Status.CONFIRMED);
        });
    }

    /** Before 2.6.30 (cf40bd16fdad) lockdep had no reclaim state: the same inversion goes unseen. */
    @Test
    void aKernelBeforeTheReclaimStateSeesNoReclaimRecursion(Kernels kernels) {
        Kernel k = kernels.boot(b -> b.version(KernelVersion.V2_2));
        RwSemaphore dp = new RwSemaphore("dp->i_lock", ILOCK);
        RwSemaphore victim = new RwSemaphore("victim->i_lock", ILOCK);
        dp.downRead();
        kmalloc(k, Gfp.GFP_KERNEL);
        assertThat(k.currentTask().heldLocks().snapshot().get(0).usage()).hasSize(4);
        dp.upRead();
        inReclaim(k, victim, false);
        assertThat(k.lockdep().reports()).isEmpty();
        assertThat(k.lockdep().reclaimFsState()).isFalse();
    }
}
