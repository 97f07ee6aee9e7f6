package dev.reclaimlab.scenario;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Throttle;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.watchdog.ProgressCounter;
import dev.reclaimlab.watchdog.Stall;
import dev.reclaimlab.watchdog.ThrottleSite;
import dev.reclaimlab.watchdog.WatchdogReport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The loopback-nfs-throttle scenario's progress counter as the scenario registers it (its name, its floor, a
 * window of half the hung-task timeout), driven by a stand-in nfsd that naps in reclaim's throttle and commits
 * at a chosen rate: a committer that is slow (every step a nap) but steady above the floor is no stall; one
 * below the floor is a STALL whose report names the counter, the floor, how long it stood below it and nfsd's
 * throttle site.
 */
@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(version = "3.14", hungTaskTimeoutMillis = 4_000, hungTaskScanMillis = 50, hungTaskPanic = false)
class LoopbackNfsThrottleProgressTest {
    /** As @Boot says. */
    private static final long HUNG_MILLIS = 4_000;
    private static final long WINDOW_MILLIS = HUNG_MILLIS / 2;
    private static final String SITE = "wait_iff_congested (shrink_inactive_list)";

    /** A stand-in nfsd: naps {@code napMillis} in {@link #SITE}, then commits at {@code bytesPerSecond}. */
    private static Task committer(Kernel k, AtomicLong bytes, double bytesPerSecond, long napMillis) {
        Throttle nap = new Throttle(SITE);
        return k.kthreadRun("nfsd", t -> {
            long last = System.nanoTime();
            double owed = 0;
            while (!t.kthreadShouldStop()) {
                nap.throttle(TimeUnit.MILLISECONDS.toNanos(napMillis));
                long now = System.nanoTime();
                owed += bytesPerSecond * (now - last) / 1e9;
                last = now;
                long whole = (long) owed;
                bytes.addAndGet(whole);
                owed -= whole;
            }
        });
    }

    @Test
    void aSlowButSteadyCommitterAboveTheFloorIsNoStall(Kernel k) {
        AtomicLong bytes = new AtomicLong();
        ProgressCounter pc = LoopbackNfsThrottle.registerProgress(k, bytes::get);
        assertThat(pc.name()).isEqualTo(LoopbackNfsThrottle.COUNTER);
        assertThat(pc.floorPerSecond()).isEqualTo(LoopbackNfsThrottle.FLOOR_BYTES_PER_SECOND);
        assertThat(pc.windowNanos()).isEqualTo(TimeUnit.MILLISECONDS.toNanos(WINDOW_MILLIS));
        // Four times the floor, in steps of 20 ms naps: a trickle next to less-throttle's 13 MiB/s, but steady
        // (the margin is for a loaded host, where a nap may end hundreds of milliseconds late).
        committer(k, bytes, 4.0 * LoopbackNfsThrottle.FLOOR_BYTES_PER_SECOND, 20);
        long scans = k.watchdog().scans();
        long enough = scans + 3 * WINDOW_MILLIS / 50;
        Await.until(() -> k.watchdog().scans() >= enough, "three windows of scans", Duration.ofSeconds(45));
        assertThat(bytes.get()).as("it committed").isPositive();
        assertThat(k.watchdog().reports()).isEmpty();
        assertThat(k.panicked()).isFalse();
    }

    @Test
    void aCommitterBelowTheFloorIsAStallNamingTheCounterAndNfsdsThrottle(Kernel k) throws Exception {
        AtomicLong bytes = new AtomicLong();
        CountDownLatch reported = new CountDownLatch(1);
        k.watchdog().addReportListener(r -> reported.countDown());
        LoopbackNfsThrottle.registerProgress(k, bytes::get);
        // A tenth of the floor: NeilBrown's "the reduced throughput persists".
        Task nfsd = committer(k, bytes, LoopbackNfsThrottle.FLOOR_BYTES_PER_SECOND / 10.0, 100);
        assertThat(reported.await(30, TimeUnit.SECONDS)).isTrue();
        WatchdogReport r = k.watchdog().reports().get(0);
        assertThat(r.type()).isEqualTo(WatchdogReport.Type.STALL);
        Stall st = r.stall();
        assertThat(st.counter()).isEqualTo(LoopbackNfsThrottle.COUNTER);
        assertThat(st.floorPerSecond()).isEqualTo(LoopbackNfsThrottle.FLOOR_BYTES_PER_SECOND);
        assertThat(st.stalledMillis()).isGreaterThanOrEqualTo(WINDOW_MILLIS);
        assertThat(st.ratePerSecond()).isLessThan(LoopbackNfsThrottle.FLOOR_BYTES_PER_SECOND);
        List<ThrottleSite> sites = st.tasks().stream().filter(t -> t.task().task().equals(nfsd.toString()))
                .findFirst().orElseThrow(() -> new AssertionError("nfsd is not in " + r.text())).throttles();
        assertThat(sites).singleElement().satisfies(s -> {
            assertThat(s.site()).isEqualTo(SITE);
            assertThat(s.count()).isPositive();
            assertThat(s.millis()).isGreaterThanOrEqualTo(100 * (s.count() - 1));
        });
        assertThat(k.panicked()).isFalse();
    }
}
