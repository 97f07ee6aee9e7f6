package dev.reclaimlab.watchdog;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelConfig;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Throttle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(60)
class StallTest {
    private static final long ONE_MS = TimeUnit.MILLISECONDS.toNanos(1);

    @Test
    void plantedLivelockIsReportedAsAStall() throws Exception {
        CountDownLatch reported = new CountDownLatch(1);
        KernelConfig cfg = KernelConfig.builder().memory("8m").hungTaskScanMillis(50).hungTaskTimeoutMillis(300)
                .hungTaskPanic(false).build();
        try (Kernel k = Kernel.boot(cfg)) {
            AtomicLong reclaimed = new AtomicLong();
            k.watchdog().registerProgress("nr_reclaimed", reclaimed::get);
            k.watchdog().addReportListener(r -> reported.countDown());
            Throttle congestion = new Throttle("congestion_wait");
            Task nfsd = k.kthreadRun("nfsd", t -> {
                while (!t.kthreadShouldStop()) {
                    congestion.throttle(ONE_MS);
                }
            });
            assertThat(reported.await(30, TimeUnit.SECONDS)).isTrue();
            WatchdogReport r = k.watchdog().reports().get(0);
            assertThat(r.type()).isEqualTo(WatchdogReport.Type.STALL);
            assertThat(r.tasks()).contains(nfsd.toString());
            assertThat(r.text()).contains("progress counter nr_reclaimed stuck at 0", "livelock");
            assertThat(r.json()).contains("\"type\":\"stall\"", "\"counter\":\"nr_reclaimed\"");
            assertThat(k.panicked()).isFalse();
        }
    }

    @Test
    void busyButProgressingWorkloadIsNoStall() throws Exception {
        long timeoutMillis = 100;
        KernelConfig cfg = KernelConfig.builder().memory("8m").hungTaskScanMillis(20)
                .hungTaskTimeoutMillis(timeoutMillis).hungTaskPanic(true).build();
        CountDownLatch ranLongEnough = new CountDownLatch(1);
        try (Kernel k = Kernel.boot(cfg)) {
            AtomicLong completed = new AtomicLong();
            k.watchdog().registerProgress("nr_written", completed::get);
            Throttle dirty = new Throttle("balance_dirty_pages");
            long mustRunNanos = TimeUnit.MILLISECONDS.toNanos(5 * timeoutMillis);
            k.kthreadRun("writer", t -> {
                long start = System.nanoTime();
                while (!t.kthreadShouldStop()) {
                    completed.incrementAndGet();
                    dirty.throttle(ONE_MS);
                    if (System.nanoTime() - start > mustRunNanos) {
                        ranLongEnough.countDown();
                    }
                }
            });
            assertThat(ranLongEnough.await(30, TimeUnit.SECONDS)).isTrue();
            assertThat(k.watchdog().reports()).isEmpty();
            assertThat(k.panicked()).isFalse();
        }
    }
}
