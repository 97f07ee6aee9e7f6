package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(30)
@ExtendWith(KernelExtension.class)
@Boot(memory = "8m", watchdog = false)
class LockdepTest {
    private static final LockClassKey I_MUTEX = new LockClassKey("i_mutex_key");
    private static final LockClassKey I_MUTEX_DIR = new LockClassKey("i_mutex_dir_key");
    private static final LockClassKey MMAP_SEM = new LockClassKey("mmap_sem");
    private static final LockClassKey A = new LockClassKey("A");
    private static final LockClassKey B = new LockClassKey("B");
    private static final LockClassKey C = new LockClassKey("C");

    @Test
    void takingTheSameClassTwiceWithoutNestingIsRecursiveLocking(Kernel k) {
        Mutex parent = new Mutex("parent->i_mutex", I_MUTEX);
        Mutex child = new Mutex("child->i_mutex", I_MUTEX);
        parent.mutexLock();
        child.mutexLock();
        child.mutexUnlock();
        parent.mutexUnlock();
        assertThat(k.lockdep().reports()).hasSize(1);
        LockdepReport r = k.lockdep().reports().get(0);
        assertThat(r.type()).isEqualTo(LockdepReport.Type.RECURSIVE);
        assertThat(r.text()).contains("WARNING: possible recursive locking detected",
                "May be due to missing lock nesting notation", "instance child->i_mutex");
    }

    @Test
    void nestingAnnotationMakesASubclassAndNoReport(Kernel k) {
        Mutex parent = new Mutex("parent->i_mutex", I_MUTEX);
        Mutex child = new Mutex("child->i_mutex", I_MUTEX);
        parent.mutexLock();
        child.mutexLockNested(1);
        child.mutexUnlock();
        parent.mutexUnlock();
        assertThat(k.lockdep().reports()).isEmpty();
        assertThat(k.lockdep().stats().lockClasses()).isEqualTo(2);
    }

    @Test
    void lockdepSetClassMovesALockToAnotherClass(Kernel k) {
        Mutex dir = new Mutex("dir->i_mutex", I_MUTEX);
        Mutex file = new Mutex("file->i_mutex", I_MUTEX);
        dir.lockdepSetClass(I_MUTEX_DIR);
        dir.mutexLock();
        file.mutexLock();
        file.mutexUnlock();
        dir.mutexUnlock();
        assertThat(k.lockdep().reports()).isEmpty();
    }

    @Test
    void readAfterReadOnAnRwsemClassIsNoDependency(Kernel k) {
        RwSemaphore s1 = new RwSemaphore("mm1->mmap_sem", MMAP_SEM);
        RwSemaphore s2 = new RwSemaphore("mm2->mmap_sem", MMAP_SEM);
        s1.downRead();
        s2.downRead();
        s2.upRead();
        s1.upRead();
        assertThat(k.lockdep().reports()).isEmpty();
        assertThat(k.lockdep().stats().directDependencies()).isZero();
    }

    @Test
    void threeLockCycleReportsTheWholeChain(Kernel k) {
        Mutex a = new Mutex("a", A);
        Mutex b = new Mutex("b", B);
        Mutex c = new Mutex("c", C);
        lockPair(a, b);
        lockPair(b, c);
        lockPair(c, a);
        assertThat(k.lockdep().reports()).hasSize(1);
        LockdepReport r = k.lockdep().reports().get(0);
        assertThat(r.classes()).containsExactly("A", "B", "C");
        assertThat(r.text()).contains("Chain exists of:\n   A --> B --> C", "-> #2 (C):", "-> #1 (B):",
                "-> #0 (A):");
        lockPair(c, a);
        assertThat(k.lockdep().reports()).as("de-duplicated").hasSize(1);
    }

    private static void lockPair(Mutex outer, Mutex inner) {
        outer.mutexLock();
        inner.mutexLock();
        inner.mutexUnlock();
        outer.mutexUnlock();
    }

    @Test
    void aSeenChainIsACacheHit(Kernel k) {
        Mutex a = new Mutex("a", A);
        Mutex b = new Mutex("b", B);
        lockPair(a, b);
        LockdepStats before = k.lockdep().stats();
        for (int i = 0; i < 100; i++) {
            lockPair(a, b);
        }
        LockdepStats after = k.lockdep().stats();
        assertThat(after.dependencyChains()).isEqualTo(before.dependencyChains());
        assertThat(after.chainLookupHits() - before.chainLookupHits()).isEqualTo(200);
        assertThat(after.toString()).contains("lock-classes:", "direct dependencies:", "chain lookup hits:");
    }

    @Test
    @Boot(memory = "8m", watchdog = false, lockdep = false)
    void lockdepOffRecordsNothing(Kernel k) {
        Mutex a = new Mutex("a", A);
        Mutex b = new Mutex("b", B);
        lockPair(a, b);
        lockPair(b, a);
        assertThat(k.lockdep().reports()).isEmpty();
        assertThat(k.currentTask().heldLocks().describe()).isEmpty();
    }

    @Test
    void debugShowAllLocksListsHeldLocks(Kernel k) {
        Mutex a = new Mutex("a", A);
        a.mutexLock();
        assertThat(k.lockdep().debugShowAllLocks()).contains("Showing all locks held in the system:",
                "1 lock held by " + k.currentTask(), "#0: (A){+.+.}, instance a");
        a.mutexUnlock();
    }
}
