package dev.reclaimlab.fs.buffer;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.WaitRecord;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import dev.reclaimlab.watchdog.WatchdogReport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** lock_super() and the 2.2.1 semaphore. */
@Timeout(60)
@ExtendWith(KernelExtension.class)
class Locks22Test {

    @Test
    void lockSuperIsNotRecursiveSoAHolderThatTakesItAgainWaitsOnItselfAndTheWatchdogProvesIt(Kernels kernels) {
        Kernel k = kernels.boot(b -> b.version(KernelVersion.V2_2).hungTaskScanMillis(50));
        LockSuper sb = new LockSuper("nbd0");
        Task t = k.kthreadRun("ext2", 0, self -> {
            sb.lockSuper();
            sb.lockSuper();
        });
        Await.until(() -> !k.watchdog().reports().isEmpty(), "the watchdog's report", Duration.ofSeconds(20));
        WatchdogReport r = k.watchdog().reports().get(0);
        assertThat(r.type()).isEqualTo(WatchdogReport.Type.DEADLOCK);
        assertThat(r.edges()).singleElement().satisfies(e -> {
            assertThat(e.from()).isEqualTo(t.toString());
            assertThat(e.to()).isEqualTo(t.toString());
            assertThat(e.via()).contains("s_lock of nbd0");
        });
    }

    @Test
    void theTwoTwoOneSemaphoreLetsItsOwnerTakeItAgainAndBlocksEveryoneElseUntilTheLastUp(Kernels kernels) {
        Kernel k = kernels.boot(b -> b.version(KernelVersion.V2_2));
        Semaphore22 iSem = new Semaphore22("i_sem of inode nbd0:12");
        Task me = k.currentTask();
        iSem.down();
        iSem.down();
        assertThat(iSem.depth()).isEqualTo(2);
        Task other = k.kthreadRun("other", 0, self -> {
            iSem.down();
            iSem.up();
        });
        WaitRecord.Snapshot s = Await.blocked(other, Duration.ofSeconds(10));
        assertThat(s.wakers().tasks()).containsExactly(me);
        iSem.up();
        assertThat(iSem.owner()).isEqualTo(me);
        assertThat(Await.blocked(other, Duration.ofSeconds(10)).on()).isSameAs(iSem);
        iSem.up();
        Await.until(() -> other.state() == Task.TASK_DEAD, "the other task gets the semaphore", Duration.ofSeconds(10));
        assertThat(iSem.owner()).isNull();
    }
}
