package dev.reclaimlab.block;

import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.kernel.Workqueue;
import dev.reclaimlab.locking.Completion;
import dev.reclaimlab.locking.WaitRecord;
import dev.reclaimlab.locking.Wakers;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static dev.reclaimlab.block.RamDiskTest.allocPages;
import static dev.reclaimlab.block.RamDiskTest.bios;
import static dev.reclaimlab.block.RamDiskTest.crc;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(30)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m")
class LoopDeviceTest {
    private static final int PAGE = PhysMem.PAGE_SIZE;
    private static final long FILE_SIZE = 1L << 20;
    private static final Duration BLOCKED = Duration.ofSeconds(20);

    private static void fill(PhysMem mem, int pfn, int value) {
        mem.memset(mem.pageAddress(pfn), value, PAGE);
    }

    private static Bio bio(Bio.Op op, long sector, int pfn) {
        Bio b = new Bio(op, sector, 1);
        b.addPage(pfn, PAGE, 0);
        return b;
    }

    @Test
    void readAfterWriteReturnsTheBytesAndAllIoRunsOnKloopd(Kernel k) {
        PhysMem mem = k.mm().mem();
        MapBackingFile file = new MapBackingFile(mem, FILE_SIZE);
        LoopDevice loop = new LoopDevice(k, 1, file);
        assertThat(loop.name()).isEqualTo("loop1");
        assertThat(loop.nrSectors()).isEqualTo(FILE_SIZE >> 9);
        int[] src = allocPages(k, 12);
        byte[] buf = new byte[PAGE];
        Random r = new Random(7);
        for (int pfn : src) {
            r.nextBytes(buf);
            mem.copyIn(mem.pageAddress(pfn), buf, 0, PAGE);
        }
        // Sector 20 is not page aligned in the file: segments straddle the file's pages.
        for (Bio b : bios(Bio.Op.WRITE, 20, src, 4)) {
            assertThat(loop.submitBioWait(b)).isZero();
        }
        assertThat(loop.submitBioWait(new Bio(Bio.Op.FLUSH, 0, 0))).isZero();
        int[] dst = allocPages(k, 12);
        List<Bio> reads = bios(Bio.Op.READ, 20, dst, 1);
        reads.forEach(loop::submitBio);
        for (Bio b : reads) {
            assertThat(b.waitForCompletion()).isZero();
        }
        assertThat(crc(mem, dst)).isEqualTo(crc(mem, src));
        assertThat(file.calls("fsync")).hasSize(1);
        assertThat(file.calls).allSatisfy(c -> {
            assertThat(loop.workqueue().isWorker(c.task())).as(c.toString()).isTrue();
            assertThat(c.task().comm()).matches("kworker/u\\d+:\\d+|kloopd1");
            assertThat(c.work()).isEqualTo(c.op().equals("read") ? "kloopd1 loop_queue_read_work"
                    : "kloopd1 loop_queue_write_work");
        });
        assertThat(loop.workqueue().flags()).isEqualTo(Workqueue.WQ_MEM_RECLAIM | Workqueue.WQ_HIGHPRI
                | Workqueue.WQ_UNBOUND);
        assertThat(loop.workqueue().maxActive()).isEqualTo(16);
        assertThat(loop.workqueue().rescuer().comm()).isEqualTo("kloopd1");
        assertThat(k.oopses()).isEmpty();
    }

    @Test
    void writesApplyInSubmissionOrderOneAtATimeWhileReadsRunSideBySide(Kernel k) throws Exception {
        Task me = k.currentTask();
        PhysMem mem = k.mm().mem();
        MapBackingFile file = new MapBackingFile(mem, FILE_SIZE);
        LoopDevice loop = new LoopDevice(k, 0, file, 4);
        int n = 40;
        int[] pfns = allocPages(k, n);
        List<Bio> writes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            fill(mem, pfns[i], i + 1);
            writes.add(bio(Bio.Op.WRITE, 8, pfns[i]));
        }
        writes.forEach(loop::submitBio);
        for (Bio b : writes) {
            assertThat(b.waitForCompletion()).isZero();
        }
        // The file saw the writes in submission order, never two at once, so the last one wins.
        List<Integer> seen = new ArrayList<>();
        List<Integer> submitted = new ArrayList<>();
        for (MapBackingFile.Call c : file.calls("write")) {
            assertThat(c.pos()).isEqualTo(8 * 512);
            seen.add((int) c.first());
            submitted.add(submitted.size() + 1);
        }
        assertThat(seen).hasSize(n).isEqualTo(submitted);
        assertThat(file.maxWritersInside.get()).isEqualTo(1);
        int out = allocPages(k, 1)[0];
        assertThat(loop.submitBioWait(bio(Bio.Op.READ, 8, out))).isZero();
        assertThat(mem.getByte(mem.pageAddress(out))).isEqualTo((byte) n);
        assertThat(mem.getByte(mem.pageAddress(out) + PAGE - 1)).isEqualTo((byte) n);

        // Two reads are inside the backing file at the same time: reads are not serialised.
        CountDownLatch bothInside = new CountDownLatch(2);
        Completion gate = new Completion("read gate").expectWaker(me);
        file.beforeRead = () -> {
            bothInside.countDown();
            gate.waitForCompletion();
        };
        Bio r1 = bio(Bio.Op.READ, 0, allocPages(k, 1)[0]);
        Bio r2 = bio(Bio.Op.READ, 64, allocPages(k, 1)[0]);
        loop.submitBio(r1);
        loop.submitBio(r2);
        assertThat(bothInside.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(r1.owner()).isNotSameAs(r2.owner());
        gate.completeAll();
        assertThat(r1.waitForCompletion()).isZero();
        assertThat(r2.waitForCompletion()).isZero();
    }

    @Test
    void backingFileErrorsReachTheSubmitterAndNothingHangs(Kernel k) {
        PhysMem mem = k.mm().mem();
        MapBackingFile file = new MapBackingFile(mem, FILE_SIZE);
        LoopDevice loop = new LoopDevice(k, 2, file);
        int pfn = allocPages(k, 1)[0];
        file.writeErrno = pos -> pos == 0 ? -28 : 0;
        file.readErrno = pos -> pos == 4096 ? -Errno.EIO : 0;
        assertThat(loop.submitBioWait(bio(Bio.Op.WRITE, 0, pfn))).isEqualTo(-28);
        assertThat(loop.submitBioWait(bio(Bio.Op.WRITE, 16, pfn))).isZero();
        assertThat(loop.submitBioWait(bio(Bio.Op.READ, 8, pfn))).isEqualTo(-5);
        assertThat(loop.submitBioWait(bio(Bio.Op.READ, 16, pfn))).isZero();
        file.fsyncErrno = -Errno.EIO;
        assertThat(loop.submitBioWait(new Bio(Bio.Op.FLUSH, 0, 0))).isEqualTo(-5);

        // A backing file that throws is an oops; the bio still ends and the write list keeps moving.
        file.beforeWrite = () -> {
            throw new IllegalStateException("broken backing file");
        };
        assertThat(loop.submitBioWait(bio(Bio.Op.WRITE, 32, pfn))).isEqualTo(-Errno.EIO);
        file.beforeWrite = () -> { };
        assertThat(loop.submitBioWait(bio(Bio.Op.WRITE, 40, pfn))).isZero();
        assertThat(k.oopses()).singleElement().satisfies(e -> assertThat(e).hasMessage("broken backing file"));
        assertThat(k.dmesg()).contains("loop: loop2: backing file failed on bio WRITE sector 32");
        // Nothing hangs: the workers settle. A worker caught for a moment on its pool's spinlock is not a hang.
        Await.until(() -> !k.watchdog().showBlockedTasks().contains("task:"),
                "no task blocked after every bio ended", Duration.ofSeconds(10));
    }

    @ParameterizedTest(name = "loop_memalloc_noio={0}")
    @ValueSource(booleans = {false, true})
    void theBackingFileAllocatesGfpKernelUnlessLoopMemallocNoio(boolean noio, Kernels kernels) {
        Kernel k = kernels.boot(b -> b.with(LoopDevice.LOOP_MEMALLOC_NOIO, noio));
        assertThat(k.config().toString()).contains((noio ? "+" : "-") + "loop_memalloc_noio");
        assertThat(k.config().toBuilder().build().has(LoopDevice.LOOP_MEMALLOC_NOIO)).isEqualTo(noio);
        PhysMem mem = k.mm().mem();
        MapBackingFile file = new MapBackingFile(mem, FILE_SIZE);
        LoopDevice loop = new LoopDevice(k, 1, file);
        int pfn = allocPages(k, 1)[0];
        assertThat(loop.submitBioWait(bio(Bio.Op.WRITE, 0, pfn))).isZero();
        assertThat(loop.submitBioWait(bio(Bio.Op.READ, 0, pfn))).isZero();
        assertThat(loop.submitBioWait(new Bio(Bio.Op.FLUSH, 0, 0))).isZero();
        int want = noio ? Gfp.GFP_NOIO : Gfp.GFP_KERNEL;
        assertThat(file.calls).hasSize(3).allSatisfy(c ->
                assertThat(Gfp.format(c.gfp())).as(c.op()).isEqualTo(Gfp.format(want)));
        loop.workqueue().drainWorkqueue();
        // The scope ends with each work: the workers themselves are not left NOIO.
        for (Task w : loop.workqueue().workers()) {
            assertThat(w.flags() & TaskFlags.PF_MEMALLOC_NOIO).isZero();
        }
    }

    @Test
    void aBioQueuedBehindAStuckWriteIsOwedByTheStuckWriteWorker(Kernel k) throws Exception {
        Task me = k.currentTask();
        PhysMem mem = k.mm().mem();
        MapBackingFile file = new MapBackingFile(mem, FILE_SIZE);
        LoopDevice loop = new LoopDevice(k, 1, file);
        Completion release = new Completion("backing write release").expectWaker(me);
        CountDownLatch stuck = new CountDownLatch(1);
        file.beforeWrite = () -> {
            if (stuck.getCount() > 0) {
                stuck.countDown();
                release.waitForCompletion();
            }
        };
        int a = allocPages(k, 1)[0];
        int b = allocPages(k, 1)[0];
        fill(mem, a, 0xaa);
        fill(mem, b, 0xbb);
        Bio first = bio(Bio.Op.WRITE, 0, a);
        loop.submitBio(first);
        assertThat(stuck.await(10, TimeUnit.SECONDS)).isTrue();
        Task writer = file.calls("write").get(0).task();
        assertThat(loop.writeWorker()).isSameAs(writer);

        Bio second = bio(Bio.Op.WRITE, 0, b);
        CountDownLatch secondDone = new CountDownLatch(1);
        int[] secondStatus = new int[1];
        Task cil = k.kthreadRun("xfs-cil/loop1", t -> {
            secondStatus[0] = loop.submitBioWait(second);
            secondDone.countDown();
        });
        WaitRecord.Snapshot s = Await.blocked(cil, BLOCKED);
        assertThat(second.owner()).as("on the write list: owed by the write work").isNull();
        assertThat(Wakers.of(me, second).tasks()).containsExactly(writer);
        assertThat(s.on().name()).isEqualTo("bio WRITE @0");
        assertThat(s.wakers().tasks()).containsExactly(writer);
        assertThat(k.watchdog().showBlockedTasks())
                .contains("task:xfs-cil/loop1", "can end the wait: [" + writer + "]");

        // Reads do not queue behind the stuck write: the other worker serves them.
        int r = allocPages(k, 1)[0];
        assertThat(loop.submitBioWait(bio(Bio.Op.READ, 64, r))).isZero();

        release.complete();
        assertThat(first.waitForCompletion()).isZero();
        assertThat(secondDone.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(secondStatus[0]).isZero();
        // The write work clears its worker after ending the last bio: wait for that, not for the bio.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (loop.writeWorker() != null && System.nanoTime() < deadline) {
            Thread.yield();
        }
        assertThat(loop.writeWorker()).isNull();
        assertThat(loop.submitBioWait(bio(Bio.Op.READ, 0, r))).isZero();
        assertThat(mem.getByte(mem.pageAddress(r))).isEqualTo((byte) 0xbb);
    }

    @Test
    void aThirdReadStartsAThirdWorkerWhileTwoAreBlockedAndTheWriteWorkStillRuns(Kernel k) throws Exception {
        // A fixed pool of two workers would leave the third read and the write work queued behind them.
        Task me = k.currentTask();
        PhysMem mem = k.mm().mem();
        MapBackingFile file = new MapBackingFile(mem, FILE_SIZE);
        LoopDevice loop = new LoopDevice(k, 1, file);
        Completion gate = new Completion("read gate").expectWaker(me);
        CountDownLatch inside = new CountDownLatch(2);
        file.beforeRead = () -> {
            if (inside.getCount() > 0) {
                inside.countDown();
                gate.waitForCompletion();
            }
        };
        Bio r1 = bio(Bio.Op.READ, 0, allocPages(k, 1)[0]);
        Bio r2 = bio(Bio.Op.READ, 8, allocPages(k, 1)[0]);
        loop.submitBio(r1);
        loop.submitBio(r2);
        assertThat(inside.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(loop.submitBioWait(bio(Bio.Op.READ, 16, allocPages(k, 1)[0]))).isZero();
        assertThat(loop.submitBioWait(bio(Bio.Op.WRITE, 24, allocPages(k, 1)[0]))).isZero();
        List<Task> readers = file.calls("read").stream().map(MapBackingFile.Call::task).distinct().toList();
        assertThat(readers).hasSize(3);
        assertThat(file.calls("write")).singleElement().satisfies(c -> assertThat(c.task())
                .isNotIn(r1.owner(), r2.owner()));
        gate.completeAll();
        assertThat(r1.waitForCompletion()).isZero();
        assertThat(r2.waitForCompletion()).isZero();
    }

    @Test
    void aReadHeldBackByMaxActiveIsOwedByTheWorkersRunningTheActiveReads(Kernel k) throws Exception {
        Task me = k.currentTask();
        PhysMem mem = k.mm().mem();
        MapBackingFile file = new MapBackingFile(mem, FILE_SIZE);
        LoopDevice loop = new LoopDevice(k, 1, file, 2);
        Completion gate = new Completion("read gate").expectWaker(me);
        CountDownLatch inside = new CountDownLatch(2);
        file.beforeRead = () -> {
            if (inside.getCount() > 0) {
                inside.countDown();
                gate.waitForCompletion();
            }
        };
        Bio r1 = bio(Bio.Op.READ, 0, allocPages(k, 1)[0]);
        Bio r2 = bio(Bio.Op.READ, 8, allocPages(k, 1)[0]);
        loop.submitBio(r1);
        loop.submitBio(r2);
        assertThat(inside.await(10, TimeUnit.SECONDS)).isTrue();
        Bio queued = bio(Bio.Op.READ, 16, allocPages(k, 1)[0]);
        CountDownLatch done = new CountDownLatch(1);
        Task reader = k.kthreadRun("reader", t -> {
            loop.submitBioWait(queued);
            done.countDown();
        });
        WaitRecord.Snapshot s = Await.blocked(reader, BLOCKED);
        assertThat(s.wakers().tasks()).containsExactlyInAnyOrder(r1.owner(), r2.owner());
        assertThat(s.wakers().open()).isNull();
        gate.completeAll();
        assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(queued.status()).isZero();
        assertThat(loop.workqueue().isWorker(queued.owner())).isTrue();
    }

    @Test
    void clrFdFinishesQueuedWritesThenRefusesIo(Kernel k) {
        PhysMem mem = k.mm().mem();
        MapBackingFile file = new MapBackingFile(mem, FILE_SIZE);
        LoopDevice loop = new LoopDevice(k, 5, file);
        int pfn = allocPages(k, 1)[0];
        List<Bio> writes = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            Bio b = bio(Bio.Op.WRITE, 8L * i, pfn);
            writes.add(b);
            loop.submitBio(b);
        }
        Task[] workers = loop.workqueue().workers();
        loop.loopClrFd();
        assertThat(writes).allSatisfy(b -> assertThat(b.ended()).isTrue());
        assertThat(file.calls("write")).hasSize(10);
        for (Task w : workers) {
            assertThat(w.thread().isAlive()).as("the rescuer and the pool no other queue uses: " + w).isFalse();
        }
        assertThatThrownBy(() -> loop.submitBio(bio(Bio.Op.READ, 0, pfn)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("loop5");
        Bio past = new Bio(Bio.Op.READ, FILE_SIZE >> 9, 1);
        past.addPage(pfn, PAGE, 0);
        assertThatThrownBy(() -> loop.submitBio(past)).hasMessageContaining("loop5");
    }
}
