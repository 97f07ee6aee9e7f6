package dev.reclaimlab.block.request;

import dev.reclaimlab.block.RamDisk;
import dev.reclaimlab.fs.buffer.BufferCache;
import dev.reclaimlab.fs.buffer.BufferHead;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.WaitRecord;
import dev.reclaimlab.swap.Mm22;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** The 2.2 local disk: a request ends when started, or after the disk's service time through its worker. */
@Timeout(60)
@ExtendWith(KernelExtension.class)
class IdeDiskTest {
    private static final int BLOCK = 1024;

    @ParameterizedTest
    @ValueSource(longs = {0, 1_000_000})
    void aWriteReachesTheMediumAfterTheServiceTimeAndItsWaiterNamesTheDisksWorker(long serviceMicros, Kernels kernels) {
        Kernel k = kernels.boot(b -> b.version(KernelVersion.V2_2).memory("16m"));
        Mm22 mm = Mm22.boot(k);
        IdeDisk disk = new IdeDisk(mm.blk(), "hda2", new RamDisk(k, 0, 1 << 20), BLOCK, serviceMicros);
        BufferCache bc = mm.buffers();
        byte[] data = new byte[BLOCK];
        new SplittableRandom(14).nextBytes(data);
        BufferHead bh = bc.getblk(disk, 7, BLOCK);
        mm.mem().copyIn(bh.data(), data, 0, BLOCK);
        bc.markBufferUptodate(bh, true);
        bc.markBufferDirty(bh, false);
        long start = System.nanoTime();
        bc.llRwBlock(Blk22.WRITE, bh);
        mm.blk().runTqDisk();
        if (serviceMicros == 0) {
            assertThat(bh.locked()).as("ended by the task that started it").isFalse();
        } else {
            assertThat(bh.locked()).as("the disk is still busy with it").isTrue();
            Task waiter = k.kthreadRun("waiter", 0, self -> bc.waitOnBuffer(bh));
            WaitRecord.Snapshot s = Await.blocked(waiter, Duration.ofSeconds(10));
            assertThat(s.wakers().tasks()).extracting(Task::comm).containsExactly("hda2-irq");
            Await.until(() -> waiter.state() == Task.TASK_DEAD, "the waiter sees the write end", Duration.ofSeconds(10));
            assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(serviceMicros * 1000);
        }
        bc.waitOnBuffer(bh);
        assertThat(bh.locked()).isFalse();
        byte[] got = new byte[BLOCK];
        disk.medium().peek(7L * BLOCK, got, 0, BLOCK);
        assertThat(got).isEqualTo(data);
        bc.brelse(bh);
    }
}
