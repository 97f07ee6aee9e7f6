package dev.reclaimlab.scenario;

import dev.reclaimlab.block.LoopDevice;
import dev.reclaimlab.block.RamDisk;
import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.LoopFile;
import dev.reclaimlab.fs.VfsException;
import dev.reclaimlab.fs.xfs.Xfs;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.watchdog.BlockedTask;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Seed 001 end to end, and the stacked filesystems it runs on. */
@ExtendWith(KernelExtension.class)
@Boot(memory = "32m", hungTaskTimeoutMillis = 30_000)
class XfsOnLoopTest {
    private static final XfsOnLoop SCENARIO = new XfsOnLoop();

    private static RunResult run(String variant, long seconds) {
        return ScenarioRunner.run(SCENARIO, SCENARIO.variant(variant),
                new RunOptions(seconds, 1, 64L << 20, 10_000, null));
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void theTwentyFifteenKernelDeadlocksThroughReclaimAndTheWatchdogNamesTheSeedsCycle() {
        RunResult r = run("linux-4.3-rc3", 60);
        assertThat(r.outcome()).as(r.summary()).isEqualTo(Outcome.DEADLOCK);
        assertThat(r.errors()).isEmpty();
        // The seed's parties, kworkers whose reports say which work they run: kloopd1's read work in reclaim
        // forcing the log; kloopd1's write work waiting for the image's IOLOCK; and, when the CIL push is
        // still writing the checkpoint, xfs-cil waiting for iclog space under IO (the seed's trace). Once the
        // push has submitted every iclog, the log force is owed by the write work itself: the same cycle.
        String read = "kloopd1 loop_queue_read_work";
        String push = "xfs-cil/loop1 xlog_cil_push_work";
        String write = "kloopd1 loop_queue_write_work";
        assertThat(r.watchdogText()).contains("proven deadlock", "Workqueue: " + read, "Workqueue: " + write,
                "loopQueueReadWork", "xfsFileIterRead", "xfsLogForce", "loopQueueWriteWork", "xfsFileWriteIter",
                "&(&ip->i_iolock)->mr_lock");
        assertThat(r.watchdog().tasks()).extracting(BlockedTask::workqueue).contains(read, write)
                .allMatch(w -> read.equals(w) || write.equals(w) || push.equals(w));
        assertThat(r.watchdog().edges()).anySatisfy(e -> {
            assertThat(e.kind()).isEqualTo("rwsem-write");
            assertThat(e.via()).contains("&(&ip->i_iolock)->mr_lock");
        });
        assertThat(r.watchdog().tasks()).filteredOn(t -> read.equals(t.workqueue()))
                .anySatisfy(t -> assertThat(t.heldLocks()).anyMatch(l -> l.contains("(&(&ip->i_iolock)->mr_lock)")))
                .allSatisfy(t -> assertThat(t.stack()).isNotEmpty());
        assertThat(r.watchdog().tasks()).extracting(BlockedTask::comm)
                .allMatch(c -> c.matches("kworker/u?\\d+:\\d+H?|kloopd1|xfs-cil/loop1"));
        assertThat(r.vmstat().get("allocstall_normal")).isPositive();
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void withPageCacheReadsObeyingTheMappingsGfpTheSameWorkloadRunsCleanUnderPressure() {
        RunResult r = run("mapping-gfp", 8);
        assertThat(r.outcome()).as(r.summary() + " " + r.errors()).isEqualTo(Outcome.CLEAN);
        assertThat(r.vmstat().get("allocstall_normal")).as("direct reclaim happened").isPositive();
        assertThat(r.vmstat().get("pgsteal_kswapd") + r.vmstat().get("pgsteal_direct")).isPositive();
        assertThat(r.progress()).containsPattern("read [1-9]\\d*M");
    }

    /** XFS on loop1 on XFS on ram0, as the scenario builds it. */
    private record Stack(RamDisk ram, Xfs lower, LoopDevice loop, Xfs upper) {
        static Stack build(Kernel k) {
            RamDisk ram = new RamDisk(k, 0, 128L << 20);
            Xfs lower = Xfs.mount(k, ram);
            File image = lower.vfs().create("/", "loop1.img");
            lower.vfs().write(image, (64L << 20) - 4096, new byte[4096]);
            LoopFile backing = new LoopFile(lower.sb(), image.inode());
            lower.vfs().close(image);
            LoopDevice loop = new LoopDevice(k, 1, backing);
            return new Stack(ram, lower, loop, Xfs.mount(k, loop));
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void bytesWrittenThroughTheStackedFilesystemsReadBackExactlyAfterEveryCacheIsDropped(Kernel k) {
        Stack s = Stack.build(k);
        byte[][] data = new byte[24][];
        for (int i = 0; i < data.length; i++) {
            data[i] = new byte[40_000 + i * 4099];
            new SplittableRandom(i).nextBytes(data[i]);
            File f = s.upper().vfs().create("/", "f" + i);
            s.upper().vfs().write(f, 0, data[i]);
            s.upper().vfs().fsync(f);
            s.upper().vfs().close(f);
        }
        // echo 1 > drop_caches on both filesystems: every byte must now come up through loop1 from ram0.
        for (int i = 0; i < data.length; i++) {
            File f = s.upper().vfs().open("/f" + i);
            // invalidate_mapping_pages() skips a page that is busy at that instant (isolated by reclaim,
            // under writeback), as drop_caches does: drop until every page has gone.
            Await.until(() -> k.mm().filemap().invalidateMappingPages(f.inode().mapping(), 0) == 0,
                    "every page of /f" + i + " dropped", Duration.ofSeconds(20));
            s.upper().vfs().close(f);
        }
        // The upper log or the flusher may dirty a page of the image again meanwhile; the upper files'
        // pages, which are what is read back, are gone for certain.
        File image = s.lower().vfs().open("/loop1.img");
        s.lower().vfs().fsync(image);
        k.mm().filemap().invalidateMappingPages(image.inode().mapping(), 0);
        s.lower().vfs().close(image);
        for (int i = 0; i < data.length; i++) {
            File f = s.upper().vfs().open("/f" + i);
            assertThat(s.upper().vfs().read(f, 0, data[i].length)).as("f%d", i).isEqualTo(data[i]);
            s.upper().vfs().close(f);
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void anIoErrorOnTheLowerDeviceReachesTheUpperFilesystemAsAnErrorAndNothingHangs(Kernel k) {
        Stack s = Stack.build(k);
        byte[] data = new byte[256 << 10];
        new SplittableRandom(7).nextBytes(data);
        File f = s.upper().vfs().create("/", "victim");
        s.upper().vfs().write(f, 0, data);
        s.upper().vfs().fsync(f);
        s.upper().vfs().close(f);
        // Drop every clean page of both page caches, then make the lower disk fail.
        File held = s.upper().vfs().open("/victim");
        k.mm().filemap().invalidateMappingPages(held.inode().mapping(), 0);
        s.upper().vfs().close(held);
        File image = s.lower().vfs().open("/loop1.img");
        s.lower().vfs().fsync(image);
        k.mm().filemap().invalidateMappingPages(image.inode().mapping(), 0);
        s.lower().vfs().close(image);
        s.ram().injectIoError(0, s.ram().nrSectors());
        File again = s.upper().vfs().open("/victim");
        assertThatThrownBy(() -> s.upper().vfs().read(again, 0, data.length))
                .isInstanceOf(VfsException.class)
                .satisfies(e -> assertThat(((VfsException) e).errno()).isEqualTo(Errno.EIO));
        s.ram().clearIoErrors();
        assertThat(s.upper().vfs().read(again, 0, data.length)).isEqualTo(data);
        s.upper().vfs().close(again);
    }
}
