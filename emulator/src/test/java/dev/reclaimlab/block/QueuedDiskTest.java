package dev.reclaimlab.block;

import dev.reclaimlab.fs.xfs.Xfs;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.mm.BackingDev;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The disk of the 3.14 scenarios: a RAM disk's storage behind 3.14's request queue, served at a bandwidth. */
@Timeout(30)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m")
class QueuedDiskTest {
    private static final int PAGE = PhysMem.PAGE_SIZE;

    @Test
    void adjacentPageWritesAreMergedServedAndReadBackAndEveryRequestIsFreed(Kernel k) {
        QueuedDisk disk = new QueuedDisk(k, "sda", 8L << 20, 64L << 20);
        PhysMem mem = k.mm().mem();
        int n = 64;
        int[] src = RamDiskTest.allocPages(k, n);
        byte[] buf = new byte[PAGE];
        Random r = new Random(7);
        for (int pfn : src) {
            r.nextBytes(buf);
            mem.copyIn(mem.pageAddress(pfn), buf, 0, PAGE);
        }
        List<Bio> writes = RamDiskTest.bios(Bio.Op.WRITE, 0, src, 1);
        for (Bio b : writes) {
            disk.submitBio(b);
        }
        for (Bio b : writes) {
            assertThat(b.waitForCompletion()).isZero();
        }
        int[] dst = RamDiskTest.allocPages(k, n);
        for (Bio b : RamDiskTest.bios(Bio.Op.READ, 0, dst, 8)) {
            assertThat(disk.submitBioWait(b)).isZero();
        }
        assertThat(RamDiskTest.crc(mem, dst)).isEqualTo(RamDiskTest.crc(mem, src));
        RequestQueue q = disk.queue();
        assertThat(q.allocated() + q.merges()).isEqualTo(n + n / 8);
        // The disk's task ends a request's bios before it frees the request (blk_finish_request()), so the
        // last waiter may run before the count drops.
        Await.until(() -> q.count(BackingDev.BLK_RW_ASYNC) == 0 && q.count(BackingDev.BLK_RW_SYNC) == 0,
                "every request freed", Duration.ofSeconds(10));
        assertThat(disk.blkGetBackingDevInfo().writeCongested()).isFalse();
    }

    @Test
    void anXfsOnTheDiskWritesThroughTheQueuesBdi(Kernel k) {
        k.currentTask();
        QueuedDisk disk = new QueuedDisk(k, "sda", 64L << 20, 64L << 20);
        Xfs xfs = Xfs.mount(k, disk);
        assertThat(xfs.sb().bdi()).isSameAs(disk.blkGetBackingDevInfo());
        RamDisk ram = new RamDisk(k, 1, 64L << 20);
        assertThat(ram.blkGetBackingDevInfo()).as("brd never congests: its filesystem keeps its own").isNull();
    }
}
