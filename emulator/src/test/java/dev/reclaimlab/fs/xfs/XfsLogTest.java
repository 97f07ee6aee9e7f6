package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelPanic;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.WorkStruct;
import dev.reclaimlab.kernel.Workqueue;
import dev.reclaimlab.locking.Completion;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.Mutex;
import dev.reclaimlab.locking.WaitKind;
import dev.reclaimlab.locking.WaitRecord;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.mm.VmStatItem;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.watchdog.WatchdogReport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m", hungTaskTimeoutMillis = 60_000)
class XfsLogTest {
    private static final LockClassKey TEST_M = new LockClassKey("test_m");
    private static final Duration AWAIT = Duration.ofSeconds(10);

    /** A log item that counts the log's pin and unpin calls. */
    static class FakeItem implements XfsLogItem {
        final String name;
        final int size;
        final AtomicInteger pins = new AtomicInteger();
        final AtomicInteger unpins = new AtomicInteger();

        FakeItem(String name, int size) {
            this.name = name;
            this.size = size;
        }

        @Override
        public String describe() {
            return name;
        }

        @Override
        public int formatSize() {
            return size;
        }

        @Override
        public void iopPin() {
            pins.incrementAndGet();
        }

        @Override
        public void iopUnpin() {
            unpins.incrementAndGet();
        }

        int pinCount() {
            return pins.get() - unpins.get();
        }
    }

    /** Free pages plus slab pages: the workers' structs (kmalloc) are no iclog pages. */
    private static long freeOrSlabPages(Kernel k) {
        k.mm().pageAlloc().drainAllPages();
        long slab = k.mm().vmstat().get(VmStatItem.NR_SLAB_RECLAIMABLE_B)
                + k.mm().vmstat().get(VmStatItem.NR_SLAB_UNRECLAIMABLE_B);
        return k.mm().pageAlloc().nrFreePages() + slab / PhysMem.PAGE_SIZE;
    }

    private static WaitRecord.Snapshot waitOf(Task t) {
        return t.waitRecord().snapshot();
    }

    private static boolean waitsOn(Task t, String namePrefix, Task waker) {
        WaitRecord.Snapshot s = t.waitRecord().snapshot();
        return s != null && s.on().name().startsWith(namePrefix) && s.wakers().tasks().contains(waker);
    }

    @Test
    void commitsPinAndAForceUnpinsAfterTheIo(Kernel k) {
        TestLogDevice dev = new TestLogDevice(k, "loop1", 4096);
        XfsLog log = new XfsLog(k, dev, 0, 2048, 4, 8192, "loop1");
        FakeItem a = new FakeItem("inode 131", 200);
        FakeItem b = new FakeItem("buf 0x1000", 512);

        log.xfsLogCommitCil(List.of(a, b));
        log.xfsLogCommitCil(List.of(a));
        assertThat(a.pins).hasValue(1);
        assertThat(b.pins).hasValue(1);
        assertThat(a.unpins).hasValue(0);
        assertThat(dev.writes()).as("commit does no IO").isEmpty();
        assertThat(log.checkpointsPushed()).isZero();

        assertThat(log.xfsLogForce()).isZero();
        assertThat(a.unpins).hasValue(1);
        assertThat(b.unpins).hasValue(1);
        assertThat(log.checkpointsPushed()).isEqualTo(1);
        assertThat(log.iclogsWritten()).isEqualTo(1);
        assertThat(dev.writes()).hasSize(1);
        assertThat(log.forceWaits()).isEqualTo(1);

        assertThat(log.xfsLogForce()).as("nothing to force").isZero();
        assertThat(log.forces()).isEqualTo(2);
        assertThat(log.forceWaits()).isEqualTo(1);

        log.xfsLogCommitCil(List.of(a));
        assertThat(a.pinCount()).as("pinned again by the next checkpoint").isEqualTo(1);
        log.xfsLogForce();
        assertThat(a.pins).hasValue(2);
        assertThat(a.unpins).hasValue(2);
        assertThat(log.checkpointsPushed()).isEqualTo(2);
        log.xfsLogUnmount();
        assertThat(k.oopses()).isEmpty();
        assertThat(k.lockdep().reports()).isEmpty();
    }

    @Test
    void recordsReachTheLogRegionAndTheLogWraps(Kernel k) {
        long logStart = 1000;
        TestLogDevice dev = new TestLogDevice(k, "loop1", 4096);
        XfsLog log = new XfsLog(k, dev, logStart, 64, 2, 8192, "loop1");
        // Each round: header 512 + roundup(op 12 + 5000 + commit op 12, 512) = 5632 bytes = 11 sectors.
        // Records start at 0, 11, 22, 33, 44, 55 (split: 55+9 and 0+2), 2, 13, 24, 35.
        FakeItem item = new FakeItem("inode 131", 5000);
        for (int round = 0; round < 10; round++) {
            log.xfsLogCommitCil(List.of(item));
            assertThat(log.xfsLogForce()).isZero();
        }
        assertThat(item.pins).hasValue(10);
        assertThat(item.unpins).hasValue(10);
        List<String> writes = new ArrayList<>();
        for (TestLogDevice.Write w : dev.writes()) {
            assertThat(w.sector).isBetween(logStart, logStart + 63);
            assertThat(w.sector + w.sectors).isLessThanOrEqualTo(logStart + 64);
            writes.add((w.sector - logStart) + "+" + w.sectors);
        }
        assertThat(writes).containsExactly("0+11", "11+11", "22+11", "33+11", "44+11", "55+9", "0+2",
                "2+11", "13+11", "24+11", "35+11");
        assertThat(log.currentCycle()).isEqualTo(2);
        assertThat(log.currentBlock()).isEqualTo(46);

        ByteBuffer disk = ByteBuffer.wrap(dev.store());
        int newest = (int) ((logStart + 35) << 9);
        assertThat(disk.getInt(newest)).isEqualTo(XfsLog.XLOG_HEADER_MAGIC_NUM);
        assertThat(disk.getInt(newest + 4)).as("cycle").isEqualTo(2);
        assertThat(disk.getInt(newest + 12)).as("h_len").isEqualTo(12 + 5000 + 12);
        assertThat(disk.getInt(newest + 20)).as("block").isEqualTo(35);
        assertThat(disk.getInt(newest + 24)).as("log ops").isEqualTo(2);
        int op = newest + XfsLog.XLOG_HEADER_SIZE;
        assertThat(disk.getInt(op)).as("oh_tid: checkpoint 10").isEqualTo(10);
        assertThat(disk.getInt(op + 4)).as("oh_len").isEqualTo(5000);
        assertThat(disk.get(op + 8)).isEqualTo((byte) 0x69);
        assertThat(disk.get(op + 12)).as("item 1's bytes").isEqualTo((byte) 1);
        assertThat(disk.get(op + 12 + 4999)).isEqualTo((byte) 1);
        assertThat(disk.get(op + 12 + 5000 + 9)).as("commit record flags").isEqualTo((byte) XfsLog.XLOG_COMMIT_TRANS);
        int older = (int) ((logStart + 55) << 9);
        assertThat(disk.getInt(older)).isEqualTo(XfsLog.XLOG_HEADER_MAGIC_NUM);
        assertThat(disk.getInt(older + 4)).as("not yet overwritten: cycle 1").isEqualTo(1);
        assertThat(disk.getInt(older + 20)).as("the record that wrapped").isEqualTo(55);
        assertThat(disk.getInt((int) ((logStart - 1) << 9))).as("nothing before the log").isZero();
        log.xfsLogUnmount();
        assertThat(k.oopses()).isEmpty();
    }

    @Test
    void aForceWaitsUntilTheIoCompletes(Kernel k) throws Exception {
        Task me = k.currentTask();
        TestLogDevice dev = new TestLogDevice(k, "loop1", 4096);
        XfsLog log = new XfsLog(k, dev, 0, 2048, 4, 8192, "loop1");
        FakeItem item = new FakeItem("inode 131", 300);
        Completion forced = new Completion("forced");
        AtomicInteger result = new AtomicInteger(-1);
        dev.holdCompletions(me);
        try {
            Task forcer = k.kthreadRun("forcer", t -> {
                log.xfsLogCommitCil(List.of(item));
                result.set(log.xfsLogForce());
                forced.complete();
            });
            forced.expectWaker(forcer);
            dev.awaitSubmitted(1);
            Await.until(() -> waitsOn(forcer, "xfs_cil_ctx loop1 seq 1", dev.worker()),
                    "the force waits for the checkpoint, owed by the device task", AWAIT);
            assertThat(waitOf(forcer).kind()).isEqualTo(WaitKind.COMPLETION);
            assertThat(waitOf(forcer).wakers().tasks()).containsExactly(dev.worker());
            assertThat(forced.completionDone()).isFalse();
            assertThat(item.pinCount()).isEqualTo(1);
            assertThat(log.iclogsUnderIo()).isEqualTo(1);
        } finally {
            dev.releaseCompletions();
        }
        forced.waitForCompletion();
        assertThat(result).hasValue(0);
        assertThat(item.unpins).hasValue(1);
        assertThat(log.forceWaits()).isEqualTo(1);
        log.xfsLogUnmount();
        assertThat(k.oopses()).isEmpty();
    }

    @Test
    void theCilPushBlocksInGetIclogSpaceOwedByTheDeviceTaskAndAForceWaitsForThePush(Kernel k) throws Exception {
        Task me = k.currentTask();
        TestLogDevice dev = new TestLogDevice(k, "loop1", 4096);
        XfsLog log = new XfsLog(k, dev, 0, 2048, 2, 4096, "loop1");
        WorkStruct push = log.cilPushWork();
        assertThat(push.name()).isEqualTo("xlog_cil_push_work");
        assertThat(log.cilWorkqueue().name()).isEqualTo("xfs-cil/loop1");
        List<FakeItem> items = new ArrayList<>();
        Completion forced = new Completion("forced");
        dev.holdCompletions(me);
        try {
            for (int i = 0; i < 3; i++) {
                FakeItem item = new FakeItem("inode " + i, 1000);
                items.add(item);
                log.xfsLogCommitCil(List.of(item));
                log.xlogCilPushNow();
                if (i < 2) {
                    dev.awaitSubmitted(1);
                }
            }
            Await.until(() -> push.runningOn() != null && waitsOn(push.runningOn(), "l_flush_wait loop1", dev.worker()),
                    "the push sleeps in xlogStateGetIclogSpace, owed by the device task", AWAIT);
            Task cil = push.runningOn();
            assertThat(cil.comm()).as("a kworker of a per-CPU pool").matches("kworker/\\d+:\\d+");
            assertThat(cil.currentWork()).isEqualTo("xfs-cil/loop1 xlog_cil_push_work");
            assertThat(waitOf(cil).kind()).isEqualTo(WaitKind.WAITQUEUE);
            assertThat(waitOf(cil).wakers().tasks()).containsExactly(dev.worker());
            assertThat(log.iclogsUnderIo()).isEqualTo(2);
            assertThat(log.logNoiclogs()).isGreaterThanOrEqualTo(1);

            // xlog_cil_push_now() first flush_work()s the push in progress: owed by its worker.
            Task forcer = k.kthreadRun("forcer", t -> {
                log.xfsLogForce();
                forced.complete();
            });
            forced.expectWaker(forcer);
            Await.until(() -> waitsOn(forcer, "flush_work xlog_cil_push_work", cil),
                    "the force waits for the running push, owed by its worker", AWAIT);
            String blocked = k.watchdog().showBlockedTasks();
            assertThat(blocked).contains("task:" + cil.comm() + " state:D", "waiting on waitqueue l_flush_wait loop1",
                    "can end the wait: [" + dev.worker() + "]", "Workqueue: xfs-cil/loop1 xlog_cil_push_work",
                    "xlogStateGetIclogSpace", "xlogCilPush", "task:forcer state:D", "can end the wait: [" + cil + "]");
            assertThat(items).allSatisfy(it -> assertThat(it.unpins).hasValue(0));
        } finally {
            dev.releaseCompletions();
        }
        forced.waitForCompletion();
        assertThat(items).allSatisfy(it -> assertThat(it.unpins).hasValue(1));
        assertThat(log.checkpointsPushed()).isEqualTo(3);
        assertThat(log.iclogsWritten()).isEqualTo(3);
        log.xfsLogUnmount();
        assertThat(k.oopses()).isEmpty();
        assertThat(k.lockdep().reports()).isEmpty();
    }

    @Test
    void logIoCompletionRunsOnTheMountsXfsLogWorkqueue(Kernel k) {
        TestLogDevice dev = new TestLogDevice(k, "loop1", 4096);
        XfsLog log = new XfsLog(k, dev, 0, 2048, 4, 8192, "loop1");
        assertThat(log.logWorkqueue().name()).isEqualTo("xfs-log/loop1");
        assertThat(log.logWorkqueue().flags() & Workqueue.WQ_HIGHPRI).isNotZero();
        List<String> unpinnedBy = new java.util.concurrent.CopyOnWriteArrayList<>();
        FakeItem item = new FakeItem("inode 131", 100) {
            @Override
            public void iopUnpin() {
                super.iopUnpin();
                unpinnedBy.add(Task.current().comm() + " " + Task.current().currentWork());
            }
        };
        log.xfsLogCommitCil(List.of(item));
        assertThat(log.xfsLogForce()).isZero();
        assertThat(unpinnedBy).singleElement().asString()
                .matches("(kworker/\\d+:\\d+H|xfs-log/loop1) xfs-log/loop1 xfs_buf_ioend_work");
        log.xfsLogUnmount();
    }

    @Test
    @Boot(memory = "16m", hungTaskScanMillis = 50, hungTaskTimeoutMillis = 60_000)
    void aPlantedCycleThroughTheLogIsAProvenDeadlockAndPanics(Kernel k) {
        Task me = k.currentTask();
        TestLogDevice dev = new TestLogDevice(k, "loop1", 4096);
        XfsLog log = new XfsLog(k, dev, 0, 2048, 4, 8192, "loop1");
        Mutex m = new Mutex("test_m", TEST_M);
        dev.lockBeforeCompleting(m);
        m.mutexLock();
        log.xfsLogCommitCil(List.of(new FakeItem("inode 131", 300)));
        assertThatThrownBy(log::xfsLogForce).isInstanceOf(KernelPanic.class);

        assertThat(k.panicked()).isTrue();
        assertThat(k.panicReason()).contains("proven deadlock");
        WatchdogReport r = k.watchdog().reports().get(0);
        assertThat(r.type()).isEqualTo(WatchdogReport.Type.DEADLOCK);
        assertThat(r.taskNames()).containsExactlyInAnyOrder(me.toString(), dev.worker().toString());
        assertThat(r.text()).contains("completion xfs_cil_ctx loop1 seq 1", "mutex test_m (class test_m)",
                "xfsLogForce", "*** DEADLOCK ***");
        k.close();
        assertThat(k.isClosed()).isTrue();
        assertThat(dev.worker().thread().isAlive()).isFalse();
        assertThat(k.oopses()).isEmpty();
    }

    @Test
    void theCilIsPushedInTheBackgroundWhenItGrows(Kernel k) throws Exception {
        TestLogDevice dev = new TestLogDevice(k, "loop1", 4096);
        XfsLog log = new XfsLog(k, dev, 0, 256, 4, 8192, "loop1");
        assertThat(log.xlogCilSpaceLimit()).isEqualTo(16 << 10);
        List<FakeItem> items = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            FakeItem item = new FakeItem("buf " + i, 3000);
            items.add(item);
            log.xfsLogCommitCil(List.of(item));
        }
        assertThat(log.checkpointsPushed()).as("15060 bytes: under the limit").isZero();
        assertThat(dev.writes()).isEmpty();
        FakeItem last = new FakeItem("buf 5", 3000);
        items.add(last);
        log.xfsLogCommitCil(List.of(last));
        dev.awaitSubmitted(3);
        Await.until(() -> items.stream().allMatch(it -> it.unpins.get() == 1), "the background push reached disk",
                AWAIT);
        assertThat(log.checkpointsPushed()).isEqualTo(1);
        assertThat(log.forces()).isZero();
        log.xfsLogUnmount();
        assertThat(k.oopses()).isEmpty();
    }

    @Test
    void aLogWriteErrorIsReturnedByTheForceAndTheItemsAreStillUnpinned(Kernel k) {
        TestLogDevice dev = new TestLogDevice(k, "loop1", 4096);
        XfsLog log = new XfsLog(k, dev, 0, 2048, 4, 8192, "loop1");
        dev.failBios(-5);
        FakeItem item = new FakeItem("inode 131", 100);
        log.xfsLogCommitCil(List.of(item));
        assertThat(log.xfsLogForce()).isEqualTo(-5);
        assertThat(item.unpins).hasValue(1);
        assertThat(k.dmesg()).contains("XFS (loop1): log I/O error -5");
        log.xfsLogUnmount();
    }

    @Test
    void unmountStopsXfsCilAndFreesTheIclogPages(Kernel k) {
        TestLogDevice dev = new TestLogDevice(k, "loop1", 4096);
        long before = freeOrSlabPages(k);
        XfsLog log = new XfsLog(k, dev, 0, 2048, 4, 16384, "loop1");
        assertThat(freeOrSlabPages(k)).as("the iclogs' pages").isEqualTo(before - 4 * 4);
        FakeItem item = new FakeItem("inode 131", 100);
        log.xfsLogCommitCil(List.of(item));
        log.xfsLogUnmount();
        assertThat(item.unpins).as("unmount forces the log").hasValue(1);
        assertThat(log.unmounted()).isTrue();
        assertThatThrownBy(() -> log.cilWorkqueue().queueWork(log.cilPushWork()))
                .hasMessageContaining("workqueue xfs-cil/loop1 is destroyed");
        assertThatThrownBy(() -> log.logWorkqueue().queueWork(new WorkStruct("late", () -> { })))
                .hasMessageContaining("workqueue xfs-log/loop1 is destroyed");
        assertThat(log.iclogsUnderIo()).isZero();
        assertThat(freeOrSlabPages(k)).isEqualTo(before);

        assertThatThrownBy(() -> log.xfsLogCommitCil(List.of(item))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("unmounted").hasMessageContaining("loop1");
        assertThatThrownBy(log::xfsLogForce).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(log::xfsLogUnmount).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void badUseThrowsClearly(Kernel k) {
        TestLogDevice dev = new TestLogDevice(k, "loop1", 4096);
        assertThatThrownBy(() -> new XfsLog(k, dev, 0, 2048, 1, 8192, "loop1"))
                .hasMessageContaining("logbufs 1");
        assertThatThrownBy(() -> new XfsLog(k, dev, 0, 2048, 4, 3000, "loop1"))
                .hasMessageContaining("logbsize 3000");
        assertThatThrownBy(() -> new XfsLog(k, dev, 4000, 2048, 4, 8192, "loop1"))
                .hasMessageContaining("inside loop1's 4096 sectors");
        assertThatThrownBy(() -> new XfsLog(k, dev, 0, 8, 4, 8192, "loop1"))
                .hasMessageContaining("must hold one 8192-byte iclog");
        XfsLog log = new XfsLog(k, dev, 0, 2048, 4, 8192, "loop1");
        assertThatThrownBy(() -> log.xfsLogCommitCil(List.of())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no items");
        assertThatThrownBy(() -> log.xfsLogCommitCil(null)).isInstanceOf(IllegalArgumentException.class);
        List<XfsLogItem> withNull = new ArrayList<>();
        withNull.add(null);
        assertThatThrownBy(() -> log.xfsLogCommitCil(withNull)).hasMessageContaining("item 0 is null");
        assertThatThrownBy(() -> log.xfsLogCommitCil(List.of(new FakeItem("inode 7", -1))))
                .hasMessageContaining("inode 7 has negative format size -1");
        log.xfsLogUnmount();
    }
}
