package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.block.Bio;
import dev.reclaimlab.block.LoopBackingFile;
import dev.reclaimlab.block.LoopDevice;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.WaitQueue;
import dev.reclaimlab.locking.WaitRecord;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongConsumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The review's case (issue 9, section 3): the upper log on a loop device, its bios queued behind kloopd's
 * works. A cycle that only looks closed must not be a proven deadlock.
 */
@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m", hungTaskScanMillis = 50, hungTaskTimeoutMillis = 60_000)
class XfsLogOnLoopTest {
    private static final Duration AWAIT = Duration.ofSeconds(20);
    private static final long FILE_SIZE = 1L << 20;
    private static final long FORCER_SECTOR = 1536;
    private static final long SLEEPER_SECTOR = 1544;

    /** A backing file that reads zeros and drops writes; a read can run a hook first. */
    private static final class HookedFile implements LoopBackingFile {
        private final PhysMem mem;
        final AtomicInteger writes = new AtomicInteger();
        volatile LongConsumer onRead = pos -> { };

        HookedFile(PhysMem mem) {
            this.mem = mem;
        }

        @Override
        public long loopSize() {
            return FILE_SIZE;
        }

        @Override
        public int loopReadIter(long pos, int pfn, int offset, int len) {
            onRead.accept(pos);
            mem.memset(mem.pageAddress(pfn) + offset, 0, len);
            return 0;
        }

        @Override
        public int loopWriteIter(long pos, int pfn, int offset, int len) {
            writes.incrementAndGet();
            return 0;
        }

        @Override
        public int loopFsync() {
            return 0;
        }
    }

    private static Bio read(Kernel k, long sector) {
        Bio b = new Bio(Bio.Op.READ, sector, 1);
        b.addPage(k.mm().allocPages(Gfp.GFP_KERNEL, 0), PhysMem.PAGE_SIZE, 0);
        return b;
    }

    @Test
    void aReadForcingTheLogWhileTheOtherReadSleepsTimedIsNoProvenDeadlockAndBothReadsFinish(Kernel k)
            throws Exception {
        HookedFile file = new HookedFile(k.mm().mem());
        // max_active 2: with both reads active, the write work that would carry the log's bios waits.
        LoopDevice loop = new LoopDevice(k, 1, file, 2);
        XfsLog log = new XfsLog(k, loop, 0, 1024, 2, 8192, "loop1");
        XfsLogTest.FakeItem item = new XfsLogTest.FakeItem("inode 131", 300);
        log.xfsLogCommitCil(List.of(item));
        Task[] forcer = new Task[1];
        Task[] sleeper = new Task[1];
        CountDownLatch napping = new CountDownLatch(1);
        WaitQueue nap = new WaitQueue("long nap");
        file.onRead = pos -> {
            if (pos == FORCER_SECTOR << Bio.SECTOR_SHIFT) {
                forcer[0] = Task.current();
                log.xfsLogForce();
            } else if (pos == SLEEPER_SECTOR << Bio.SECTOR_SHIFT) {
                sleeper[0] = Task.current();
                napping.countDown();
                nap.waitEventTimeout(() -> false, TimeUnit.SECONDS.toNanos(2));
            }
        };
        Bio slept = read(k, SLEEPER_SECTOR);
        loop.submitBio(slept);
        assertThat(napping.await(10, TimeUnit.SECONDS)).isTrue();
        Bio forced = read(k, FORCER_SECTOR);
        loop.submitBio(forced);

        // The force waits for its checkpoint; the iclog's bio sits on the loop write list behind max_active,
        // so it is owed by both workers running the active reads: one of them is in a timed sleep.
        Await.until(() -> {
            Task f = forcer[0];
            WaitRecord.Snapshot s = f == null ? null : f.waitRecord().snapshot();
            return s != null && s.on().name().equals("xfs_cil_ctx loop1 seq 1")
                    && s.wakers().tasks().contains(sleeper[0]);
        }, "the force waits, owed by both kloopd workers", AWAIT);
        WaitRecord.Snapshot s = forcer[0].waitRecord().snapshot();
        assertThat(s.wakers().tasks()).containsExactlyInAnyOrder(forcer[0], sleeper[0]);
        assertThat(forcer[0].currentWork()).isEqualTo("kloopd1 loop_queue_read_work");
        long scans = k.watchdog().scans();
        Await.until(() -> k.watchdog().scans() >= scans + 4, "the watchdog scanned the closed-looking cycle", AWAIT);
        WaitRecord.Snapshot napper = sleeper[0].waitRecord().snapshot();
        assertThat(napper).as("still napping while the watchdog looked").isNotNull();
        assertThat(napper.timed()).isTrue();
        assertThat(k.watchdog().reports()).isEmpty();

        assertThat(slept.waitForCompletion()).isZero();
        assertThat(forced.waitForCompletion()).isZero();
        assertThat(item.unpins).hasValue(1);
        assertThat(file.writes).hasPositiveValue();
        assertThat(k.watchdog().reports()).isEmpty();
        assertThat(k.panicked()).isFalse();
        log.xfsLogUnmount();
    }
}
