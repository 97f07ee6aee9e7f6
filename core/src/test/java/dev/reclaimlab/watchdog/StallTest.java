package dev.reclaimlab.watchdog;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Throttle;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(60)
@ExtendWith(KernelExtension.class)
class StallTest {
    private static final long ONE_MS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long BUSY_TIMEOUT_MILLIS = 100;

    @Test
    @Boot(memory = "8m", hungTaskScanMillis = 50, hungTaskTimeoutMillis = 300, hungTaskPanic = false)
    void plantedLivelockIsReportedAsAStall(Kernel k) throws Exception {
        CountDownLatch reported = new CountDownLatch(1);
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
        assertThat(r.taskNames()).contains(nfsd.toString());
        assertThat(r.text()).contains("progress counter nr_reclaimed stuck at 0", "livelock");
        assertThat(r.stall().counter()).isEqualTo("nr_reclaimed");
        assertThat(r.stall().tasks()).filteredOn(t -> t.task().task().equals(nfsd.toString())).singleElement()
                .satisfies(t -> assertThat(t.throttles()).singleElement().satisfies(site -> {
                    assertThat(site.site()).isEqualTo("congestion_wait");
                    assertThat(site.count()).isPositive();
                }));
        assertThat(k.panicked()).isFalse();
    }

    @Test
    @Boot(memory = "8m", hungTaskScanMillis = 20, hungTaskTimeoutMillis = BUSY_TIMEOUT_MILLIS, hungTaskPanic = true)
    void busyButProgressingWorkloadIsNoStall(Kernel k) throws Exception {
        long timeoutMillis = BUSY_TIMEOUT_MILLIS;
        CountDownLatch ranLongEnough = new CountDownLatch(1);
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
