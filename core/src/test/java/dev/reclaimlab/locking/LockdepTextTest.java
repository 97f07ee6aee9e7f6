package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.assertj.core.api.Assertions.assertThat;

/** Names, usage characters and titles as each version's lockdep prints them. */
@Timeout(30)
@ExtendWith(KernelExtension.class)
@Boot(memory = "8m", watchdog = false)
class LockdepTextTest {
    private static final Fix RENAME = Fix.declare("lockdep_text_test_rename", "test: a class renamed in 4.10",
            "test only", new KernelVersion(4, 10));
    private static final LockClassKey IOLOCK = new LockClassKey("&(&ip->i_iolock)->mr_lock")
            .renamedBy(RENAME, "&sb->s_type->i_mutex_key");
    private static final LockClassKey XFS_I_MUTEX = new LockClassKey("&sb->s_type->i_mutex_key");
    private static final LockClassKey NFS_I_MUTEX = new LockClassKey("&sb->s_type->i_mutex_key");
    private static final LockClassKey SEM = new LockClassKey("&sem");

    @Test
    void classesWithOneNameAreNumberedInTheOrderTheyAppearAndSubclassesShareTheNumber(Kernel k) {
        Mutex nfs = new Mutex("nfs dir", NFS_I_MUTEX);
        Mutex xfs = new Mutex("xfs dir", XFS_I_MUTEX);
        Mutex xfsChild = new Mutex("xfs child", XFS_I_MUTEX);
        nfs.mutexLock();
        xfs.mutexLock();
        xfsChild.mutexLockNested(1);
        assertThat(k.currentTask().heldLocks().snapshot()).extracting(LockdepReport.HeldLock::className)
                .containsExactly("&sb->s_type->i_mutex_key", "&sb->s_type->i_mutex_key#2",
                        "&sb->s_type->i_mutex_key#2/1");
        xfsChild.mutexUnlock();
        xfs.mutexUnlock();
        nfs.mutexUnlock();
    }

    @Test
    void usageCharactersAreSixWithReclaimFsAndFourWithout(Kernels kernels) {
        for (String v : new String[] {"4.3", "5.3"}) {
            Kernel k = kernels.boot(b -> b.version(KernelVersion.parse(v)));
            RwSemaphore s = new RwSemaphore("s", SEM);
            s.downRead();
            String readOnly = k.currentTask().heldLocks().snapshot().get(0).usage();
            s.upRead();
            s.downWrite();
            String both = k.currentTask().heldLocks().snapshot().get(0).usage();
            s.upWrite();
            assertThat(readOnly).isEqualTo(v.equals("4.3") ? ".+.+.." : ".+.+");
            assertThat(both).isEqualTo(v.equals("4.3") ? "++++.." : "++++");
            k.close();
        }
    }

    @Test
    void aRenamedClassPrintsItsLaterNameInKernelsWithTheChange(Kernels kernels) {
        for (String v : new String[] {"4.3", "5.3"}) {
            Kernel k = kernels.boot(b -> b.version(KernelVersion.parse(v)));
            RwSemaphore s = new RwSemaphore("&ip->i_iolock", IOLOCK);
            s.downRead();
            assertThat(k.currentTask().heldLocks().snapshot().get(0).className())
                    .isEqualTo(v.equals("4.3") ? "&(&ip->i_iolock)->mr_lock" : "&sb->s_type->i_mutex_key");
            s.upRead();
            k.close();
        }
    }

    @Test
    void titlesAndHeldLockLinesFollowTheVersion(Kernels kernels) {
        Kernel old = kernels.boot(b -> b.version(KernelVersion.V4_3));
        String t43 = recursive(old);
        assertThat(t43).startsWith("\n=============================================\n"
                + "[ INFO: possible recursive locking detected ]\n4.3.0 #1 Not tainted\n"
                + "---------------------------------------------\n");
        assertThat(t43).contains("\n #0:  (&sem){+.+...}, instance a\n");
        old.close();
        Kernel k53 = kernels.boot(b -> b.version(KernelVersion.V5_3));
        LockdepMap a = recursiveMap(k53);
        String t53 = k53.lockdep().reports().get(0).text();
        assertThat(t53).startsWith("\n============================================\n"
                + "WARNING: possible recursive locking detected\n5.3.0 #1 Not tainted\n"
                + "--------------------------------------------\n");
        assertThat(t53).contains("\n #0: " + LockdepReport.HeldLock.address(a.instance()) + " (&sem){+.+.}, instance a\n");
        assertThat(LockdepReport.HeldLock.address(a.instance())).hasSize(16).startsWith("00000000");
    }

    private static String recursive(Kernel k) {
        recursiveMap(k);
        return k.lockdep().reports().get(0).text();
    }

    private static LockdepMap recursiveMap(Kernel k) {
        Mutex a = new Mutex("a", SEM);
        Mutex b = new Mutex("b", SEM);
        a.mutexLock();
        b.mutexLock();
        b.mutexUnlock();
        a.mutexUnlock();
        return a.depMap();
    }
}
