package dev.reclaimlab.watchdog;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Throttle;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(60)
@ExtendWith(KernelExtension.class)
class StallTest {
    private static final long ONE_MS = TimeUnit.MILLISECONDS.toNanos(1);
    /** Long enough that a runnable thread starved by a loaded 2-core machine is not a standstill. */
    private static final long BUSY_TIMEOUT_MILLIS = 500;

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

    /** Pages of 4 KiB, as the NFS throughput counter of the throttle scenario counts bytes. */
    private static final long PAGE = 4096;

    @Test
    @Boot(memory = "8m", hungTaskScanMillis = 20, hungTaskTimeoutMillis = BUSY_TIMEOUT_MILLIS, hungTaskPanic = true)
    void slowButSteadyProgressAboveItsFloorIsNoStall(Kernel k) throws Exception {
        long windowNanos = TimeUnit.MILLISECONDS.toNanos(400);
        double floor = 20 * PAGE;
        AtomicLong bytes = new AtomicLong();
        ProgressCounter pc = k.watchdog().registerProgress("nfs_committed_bytes", bytes::get, floor, windowNanos);
        Throttle congested = new Throttle("wait_iff_congested (shrink_inactive_list)");
        CountDownLatch ranLongEnough = new CountDownLatch(1);
        long mustRunNanos = 5 * windowNanos;
        // Every page costs a throttle nap: slow, a trickle compared to a free run, yet steady above the floor.
        k.kthreadRun("nfsd", t -> {
            long start = System.nanoTime();
            while (!t.kthreadShouldStop()) {
                congested.throttle(5 * ONE_MS);
                bytes.addAndGet(PAGE);
                if (System.nanoTime() - start > mustRunNanos) {
                    ranLongEnough.countDown();
                }
            }
        });
        assertThat(ranLongEnough.await(30, TimeUnit.SECONDS)).isTrue();
        long scansBefore = k.watchdog().scans();
        Await.until(() -> k.watchdog().scans() > scansBefore + 2, "two more scans", Duration.ofSeconds(10));
        assertThat(pc.floorPerSecond()).isEqualTo(floor);
        assertThat(bytes.get()).as("it did progress").isPositive();
        assertThat(k.watchdog().reports()).isEmpty();
        assertThat(k.panicked()).isFalse();
    }

    @Test
    @Boot(memory = "8m", hungTaskScanMillis = 20, hungTaskTimeoutMillis = BUSY_TIMEOUT_MILLIS, hungTaskPanic = false)
    void progressBelowItsFloorWithTasksInThrottlesIsAStallListingEachTasksSites(Kernel k) throws Exception {
        long windowMillis = 500;
        double floor = 100 * PAGE;
        AtomicLong bytes = new AtomicLong();
        CountDownLatch reported = new CountDownLatch(1);
        k.watchdog().registerProgress("nfs_committed_bytes", bytes::get, floor,
                TimeUnit.MILLISECONDS.toNanos(windowMillis));
        k.watchdog().addReportListener(r -> reported.countDown());
        Throttle wic = new Throttle("wait_iff_congested (shrink_inactive_list)");
        Throttle cw = new Throttle("congestion_wait (shrink_inactive_list)");
        Throttle bdp = new Throttle("balance_dirty_pages");
        // Both move the counter, at about 10 pages a second each: a trickle, not a standstill.
        Task nfsd1 = k.kthreadRun("nfsd", t -> {
            while (!t.kthreadShouldStop()) {
                wic.throttle(100 * ONE_MS);
                bytes.addAndGet(PAGE);
            }
        });
        Task nfsd2 = k.kthreadRun("nfsd", t -> {
            while (!t.kthreadShouldStop()) {
                cw.throttle(50 * ONE_MS);
                bdp.throttle(50 * ONE_MS);
                bytes.addAndGet(PAGE);
            }
        });
        assertThat(reported.await(30, TimeUnit.SECONDS)).isTrue();
        WatchdogReport r = k.watchdog().reports().get(0);
        assertThat(r.type()).isEqualTo(WatchdogReport.Type.STALL);
        Stall st = r.stall();
        assertThat(st.counter()).isEqualTo("nfs_committed_bytes");
        assertThat(st.floorPerSecond()).isEqualTo(floor);
        assertThat(st.value()).as("progress did not stop").isPositive();
        assertThat(st.ratePerSecond()).isPositive().isLessThan(floor);
        assertThat(st.stalledMillis()).isGreaterThanOrEqualTo(windowMillis);
        assertThat(sites(st, nfsd1)).singleElement().satisfies(site -> {
            assertThat(site.site()).isEqualTo("wait_iff_congested (shrink_inactive_list)");
            assertThat(site.count()).isPositive();
            assertThat(site.millis()).isGreaterThanOrEqualTo(100 * (site.count() - 1));
        });
        assertThat(sites(st, nfsd2)).extracting(ThrottleSite::site)
                .containsExactlyInAnyOrder("congestion_wait (shrink_inactive_list)", "balance_dirty_pages");
        assertThat(sites(st, nfsd2)).allSatisfy(site -> assertThat(site.millis()).isPositive());
        assertThat(k.panicked()).isFalse();
    }

    private static java.util.List<ThrottleSite> sites(Stall st, Task t) {
        return st.tasks().stream().filter(x -> x.task().task().equals(t.toString())).findFirst()
                .orElseThrow(() -> new AssertionError(t + " is not in the stall report")).throttles();
    }
}
