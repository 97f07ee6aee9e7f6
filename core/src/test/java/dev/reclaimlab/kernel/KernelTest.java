package dev.reclaimlab.kernel;

import dev.reclaimlab.locking.WaitRecord;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@ExtendWith(KernelExtension.class)
@Boot(memory = "8m")
class KernelTest {

    @Test
    @Boot(memory = "32m")
    void closeFreesEveryOffHeapByteEvenWithObjectsStillAllocated(Kernel k) {
        assertThat(k.mm().offHeapBytes()).isGreaterThan(32L << 20);
        k.mm().kmalloc(100, Gfp.GFP_KERNEL);
        k.mm().allocPages(Gfp.GFP_KERNEL, 5);
        k.close();
        assertThat(k.mm().offHeapBytes()).isZero();
        assertThat(k.isClosed()).isTrue();
        assertThatThrownBy(() -> k.mm().mem().getLong(0xffff888000000000L)).hasMessageContaining("kernel closed");
        assertThatThrownBy(() -> k.mm().kmalloc(8, Gfp.GFP_KERNEL)).isInstanceOf(IllegalStateException.class);
        k.close();
    }

    @Test
    void manyKernelsLiveInOneJvmAndATaskBelongsToOne(Kernels kernels) {
        try (Kernel a = kernels.boot(KernelConfig.builder().memory("8m").build());
             Kernel b = kernels.boot(KernelConfig.builder().memory("8m").cpus(4).build())) {
            Task ta = a.currentTask();
            Task tb = b.currentTask();
            assertThat(ta).isNotSameAs(tb);
            assertThat(ta.kernel()).isSameAs(a);
            assertThat(a.currentTask()).isSameAs(ta);
            long x = a.mm().kmalloc(64, Gfp.GFP_KERNEL);
            long y = b.mm().kmalloc(64, Gfp.GFP_KERNEL);
            a.mm().kfree(x);
            b.mm().kfree(y);
            assertThat(b.nrCpus()).isEqualTo(4);
        }
    }

    @Test
    @Timeout(10)
    void kthreadsRunAsKernelTasksAndStopOnClose(Kernel k) throws Exception {
        CountDownLatch running = new CountDownLatch(2);
        AtomicInteger stopped = new AtomicInteger();
        for (String name : new String[] {"kswapd0", "kloopd1"}) {
            k.kthreadRun(name, TaskFlags.PF_MEMALLOC, self -> {
                assertThat(Task.current()).isSameAs(self);
                assertThat(self.isKthread()).isTrue();
                running.countDown();
                while (!self.kthreadShouldStop()) {
                    self.schedule();
                }
                stopped.incrementAndGet();
            });
        }
        assertThat(running.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(k.tasks()).extracting(Task::comm).contains("kswapd0", "kloopd1");
        k.close();
        assertThat(stopped).hasValue(2);
        assertThat(k.oopses()).isEmpty();
    }

    @Test
    @Timeout(20)
    void closePanicsAKthreadThatWillNotStopAndStillFreesMemory(Kernel k) {
        CountDownLatch asleep = new CountDownLatch(1);
        Task stuck = k.kthreadRun("xfs-cil/loop1", self -> {
            asleep.countDown();
            for (;;) {
                self.schedule();
            }
        });
        try {
            asleep.await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        k.close();
        assertThat(k.panicked()).isTrue();
        assertThat(k.panicReason()).contains("xfs-cil/loop1");
        assertThat(stuck.thread().isAlive()).isFalse();
        assertThat(k.mm().offHeapBytes()).isZero();
    }

    @Test
    @Timeout(20)
    void closeStopsKswapdFirstSoAPassWaitingOnADeviceWorkerEndsWhileTheWorkerStillRuns(Kernel k)
            throws Exception {
        AtomicBoolean requested = new AtomicBoolean();
        AtomicBoolean release = new AtomicBoolean();
        AtomicBoolean served = new AtomicBoolean();
        // Older than the worker, as kswapd is older than any device: in a reclaim pass it waits, ignoring
        // stop requests as an unpin wait does, for IO that the worker serves.
        Task reclaimer = k.kthreadRun("kswapd1", TaskFlags.PF_KSWAPD | TaskFlags.PF_MEMALLOC, self -> {
            requested.set(true);
            while (!served.get()) {
                self.schedule();
            }
            while (!self.kthreadShouldStop()) {
                self.schedule();
            }
        });
        k.kthreadRun("kloopd1", self -> {
            while (!self.kthreadShouldStop()) {
                if (requested.get() && release.get() && !served.get()) {
                    served.set(true);
                    reclaimer.wakeUpProcess();
                }
                LockSupport.parkNanos(1_000_000L);
            }
        });
        Await.until(requested::get, "kswapd1 waiting on kloopd1", Duration.ofSeconds(5));
        // The IO completes only once close() has begun with kswapd: stopped newest first, kloopd1 would be
        // gone before kswapd1 was asked, and kswapd1 would wait for ever.
        Thread releaser = new Thread(() -> {
            while (!reclaimer.kthreadShouldStop()) {
                Thread.onSpinWait();
            }
            release.set(true);
        });
        releaser.start();
        k.close();
        releaser.join(5_000);
        assertThat(k.panicked()).as(k.panicReason()).isFalse();
        assertThat(served).isTrue();
        assertThat(k.mm().offHeapBytes()).isZero();
    }

    @Test
    void aKthreadThatThrowsIsKeptAsAnOops(Kernel k) throws Exception {
        Task t = k.kthreadRun("bad", self -> {
            throw new IllegalStateException("BUG at bad.c:1");
        });
        t.thread().join(5000);
        assertThat(k.oopses()).hasSize(1);
        assertThat(k.oopses().get(0)).hasMessage("BUG at bad.c:1");
    }

    @Test
    void sleepingWhileHoldingACpuIsABug(Kernel k) {
        Task t = k.currentTask();
        t.getCpu();
        try {
            assertThatThrownBy(t::schedule).hasMessageContaining("scheduling while atomic");
        } finally {
            t.putCpu();
        }
        assertThatThrownBy(t::putCpu).hasMessageContaining("put_cpu() without get_cpu()");
    }

    @Test
    void aTaskAllowedOneCpuWaitsForItWhileAnotherHoldsIt(Kernel k) throws Exception {
        Task me = k.currentTask();
        assertThatThrownBy(() -> me.setCpusAllowed(2)).hasMessageContaining("CPU2 does not exist (nr_cpus 2)");
        me.getCpu();
        try {
            assertThatThrownBy(() -> me.setCpusAllowed(0)).hasMessageContaining("atomic context");
        } finally {
            me.putCpu();
        }
        AtomicBoolean release = new AtomicBoolean();
        CountDownLatch holding = new CountDownLatch(1);
        Task holder = k.kthreadRun("cpu1-holder", t -> t.runOnCpu(1, () -> {
            holding.countDown();
            while (!release.get()) {
                Thread.onSpinWait();
            }
        }));
        int[] got = {-1};
        Task pinned;
        try {
            assertThatThrownBy(() -> holder.setCpusAllowed(0)).hasMessageContaining("only the task itself");
            assertThat(holding.await(10, TimeUnit.SECONDS)).isTrue();
            pinned = k.kthreadRun("pinned", t -> {
                t.setCpusAllowed(1);
                got[0] = t.getCpu();
                t.putCpu();
            });
            // A CPU wait spins (TASK_RUNNING), so its record, not the task state, shows it.
            Await.until(() -> {
                WaitRecord.Snapshot s = pinned.waitRecord().snapshot();
                return s != null && s.on().name().equals("CPU1");
            }, "pinned waits for CPU1", Duration.ofSeconds(10));
            assertThat(got[0]).isEqualTo(-1);
        } finally {
            release.set(true);
        }
        pinned.thread().join(10_000);
        assertThat(got[0]).isEqualTo(1);
        assertThat(k.oopses()).isEmpty();
    }

    @Test
    void aThreadOutsideAnyKernelHasNoCurrentTask() throws Exception {
        Thread th = new Thread(() -> assertThatThrownBy(Task::current).hasMessageContaining("not a kernel task"));
        th.start();
        th.join();
    }

    @Test
    void commIsTruncatedAsSetTaskCommDoes(Kernel k) {
        Task t = k.kthreadRun("a-very-long-kernel-thread-name", self -> { });
        assertThat(t.comm()).isEqualTo("a-very-long-ker").hasSize(Task.TASK_COMM_LEN - 1);
    }

    @Test
    void configRejectsBadSizesWithTheReason() {
        assertThat(KernelConfig.memparse("64m")).isEqualTo(64L << 20);
        assertThat(KernelConfig.memparse("1G")).isEqualTo(1L << 30);
        assertThat(KernelConfig.memparse("4096")).isEqualTo(4096);
        assertThatThrownBy(() -> KernelConfig.memparse("lots")).hasMessageContaining("'lots' is not a size");
        assertThatThrownBy(() -> KernelConfig.builder().memory("1m").build()).hasMessageContaining("outside");
        assertThatThrownBy(() -> KernelConfig.builder().memory(5_000_000).build()).hasMessageContaining("page size");
        assertThatThrownBy(() -> KernelConfig.builder().cpus(0).build()).hasMessageContaining("nr_cpus 0");
        assertThat(KernelConfig.defaults().toBuilder().cpus(3).build().nrCpus()).isEqualTo(3);
    }
}
