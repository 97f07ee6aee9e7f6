package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

@Timeout(30)
@ExtendWith(KernelExtension.class)
@Boot(memory = "8m", watchdog = false)
class LockdepTest {
    private static final LockClassKey I_MUTEX = new LockClassKey("i_mutex_key");
    private static final LockClassKey I_MUTEX_DIR = new LockClassKey("i_mutex_dir_key");
    private static final LockClassKey A = new LockClassKey("A");
    private static final LockClassKey B = new LockClassKey("B");
    private static final LockClassKey C = new LockClassKey("C");
    private static final LockClassKey D = new LockClassKey("D");

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
        assertThat(r.acquiring().instanceName()).isEqualTo("child->i_mutex");
        assertThat(r.holding().instanceName()).isEqualTo("parent->i_mutex");
        assertThat(r.scenario().missingNesting()).isTrue();
        assertThat(r.scenario().steps()).extracting(LockdepReport.Step::text)
                .containsExactly("lock(i_mutex_key);", "lock(i_mutex_key);");
        assertThat(r.heldLocks()).extracting(LockdepReport.HeldLock::instanceName).containsExactly("parent->i_mutex");
    }

    @Test
    void nestingAnnotationMakesASubclassAndNoReport(Kernel k) {
        Mutex parent = new Mutex("parent->i_mutex", I_MUTEX);
        Mutex child = new Mutex("child->i_mutex", I_MUTEX);
        parent.mutexLock();
        child.mutexLockNested(1);
        assertThat(k.currentTask().heldLocks().snapshot()).extracting(LockdepReport.HeldLock::className)
                .containsExactly("i_mutex_key", "i_mutex_key/1");
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
        assertThat(r.chain()).extracting(LockdepReport.ChainEntry::index, LockdepReport.ChainEntry::className,
                LockdepReport.ChainEntry::from).containsExactly(tuple(2, "C", "B"), tuple(1, "B", "A"),
                tuple(0, "A", "C"));
        assertThat(r.scenario().chainExists()).containsExactly("A", "B", "C");
        assertThat(r.scenario().steps()).extracting(LockdepReport.Step::cpu, LockdepReport.Step::text)
                .containsExactly(tuple(0, "lock(C);"), tuple(1, "lock(B);"), tuple(1, "lock(C);"), tuple(0, "lock(A);"));
        lockPair(c, a);
        assertThat(k.lockdep().reports()).as("de-duplicated").hasSize(1);
    }

    @Test
    void aDependencyComesFromTheNearestHeldLockOnlyAndTheRestIsTransitive(Kernel k) {
        Mutex a = new Mutex("a", A);
        Mutex b = new Mutex("b", B);
        Mutex c = new Mutex("c", C);
        a.mutexLock();
        b.mutexLock();
        c.mutexLock();
        c.mutexUnlock();
        b.mutexUnlock();
        a.mutexUnlock();
        assertThat(k.lockdep().stats().directDependencies()).as("A->B and B->C, not A->C").isEqualTo(2);
        lockPair(c, a);
        assertThat(k.lockdep().reports()).singleElement().satisfies(r ->
                assertThat(r.classes()).containsExactly("A", "B", "C"));
    }

    @Test
    void aTrylockIsNoDependencyButTheLockAfterItDependsOnIt(Kernel k) {
        Mutex a = new Mutex("a", A);
        Mutex b = new Mutex("b", B);
        Mutex c = new Mutex("c", C);
        a.mutexLock();
        assertThat(b.mutexTrylock()).isTrue();
        assertThat(k.lockdep().stats().directDependencies()).as("a trylock is not validated").isZero();
        c.mutexLock();
        c.mutexUnlock();
        b.mutexUnlock();
        a.mutexUnlock();
        assertThat(k.lockdep().stats().directDependencies()).as("B->C (trylock above) and A->C").isEqualTo(2);
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
    void unlockingALockNotHeldIsBadUnlockBalanceWithNoVerdict(Kernel k) {
        Mutex d = new Mutex("d", D);
        k.lockdep().lockRelease(k.currentTask(), d.depMap());
        assertThat(k.lockdep().reports()).singleElement().satisfies(r -> {
            assertThat(r.type()).isEqualTo(LockdepReport.Type.BAD_UNLOCK);
            assertThat(r.acquiring().className()).isEqualTo("D");
            assertThat(r.verdict().status()).isEqualTo(LockdepReport.Verdict.Status.NONE);
            assertThat(r.text()).startsWith("\n=====================================\n"
                    + "[ BUG: bad unlock balance detected! ]\n4.3.0 #1 Not tainted\n");
        });
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
                "1 lock held by " + k.currentTask().comm() + "/" + k.currentTask().pid() + ":",
                "#0:  (A){+.+...}, instance a");
        a.mutexUnlock();
    }
}
