package dev.reclaimlab.trace;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.locking.Completion;
import dev.reclaimlab.locking.Throttle;
import dev.reclaimlab.locking.WaitQueue;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.PageAlloc;
import dev.reclaimlab.mm.VmStatItem;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "8m", hungTaskScanMillis = 20, hungTaskTimeoutMillis = 100, hungTaskPanic = false)
class JfrEventsTest {
    @Test
    void waitsThrottlesAndReportsAreRecordedAndReadBack(Kernel k, @TempDir Path dir) throws Exception {
        Path file = dir.resolve("run.jfr");
        try (Recording rec = new Recording()) {
            rec.enable("reclaimlab.Wait").withThreshold(Duration.ZERO);
            rec.enable("reclaimlab.Throttle");
            rec.enable("reclaimlab.Report");
            rec.start();
            new WaitQueue("jfr_wq").waitEventTimeout(() -> false, TimeUnit.MILLISECONDS.toNanos(20));
            new Throttle("congestion_wait").throttle(TimeUnit.MILLISECONDS.toNanos(5));
            Completion never = new Completion("never");
            k.kthreadRun("stuck", self -> never.waitForCompletion());
            Await.until(() -> !k.watchdog().reports().isEmpty(), "a hung-task report", Duration.ofSeconds(20));
            rec.stop();
            rec.dump(file);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file);
        assertThat(events).filteredOn(e -> e.getEventType().getName().equals("reclaimlab.Wait")
                && "jfr_wq".equals(e.getString("waitsOn"))).singleElement().satisfies(e -> {
                    assertThat(e.getString("kind")).isEqualTo("waitqueue");
                    assertThat(e.getString("state")).isEqualTo("D");
                    assertThat(e.getString("outcome")).isEqualTo("timed out");
                    assertThat(e.getDuration().toMillis()).isGreaterThanOrEqualTo(19);
                });
        assertThat(events).filteredOn(e -> e.getEventType().getName().equals("reclaimlab.Throttle"))
                .singleElement().satisfies(e -> assertThat(e.getString("site")).isEqualTo("congestion_wait"));
        assertThat(events).filteredOn(e -> e.getEventType().getName().equals("reclaimlab.Report"))
                .anySatisfy(e -> {
                    assertThat(e.getString("source")).isEqualTo("watchdog");
                    assertThat(e.getString("type")).isEqualTo("HUNG_TASK");
                    assertThat(e.getString("kernel")).isEqualTo("linux-4.3");
                });
    }

    @Test
    @Boot(memory = "8m")
    void directReclaimAndKswapdPassesAreRecordedWithWhoReclaimedWhat(Kernel k, @TempDir Path dir) throws Exception {
        Path file = dir.resolve("reclaim.jfr");
        PageAlloc pa = k.mm().pageAlloc();
        List<Integer> held = new ArrayList<>();
        try (Recording rec = new Recording()) {
            rec.enable("reclaimlab.Reclaim");
            rec.start();
            for (int pfn; (pfn = pa.allocPages(Gfp.GFP_NOWAIT, 0)) != PageAlloc.NULL_PAGE; ) {
                held.add(pfn);
            }
            // Nothing to reclaim: one round of direct reclaim, then __GFP_NORETRY gives up; kswapd was woken.
            assertThat(pa.allocPages(Gfp.GFP_KERNEL | Gfp.__GFP_NORETRY, 0)).isEqualTo(PageAlloc.NULL_PAGE);
            Await.until(() -> k.mm().vmstat().get(VmStatItem.PAGEOUTRUN) > 0, "a kswapd pass", Duration.ofSeconds(20));
            rec.stop();
            rec.dump(file);
        } finally {
            held.forEach(p -> pa.freePages(p, 0));
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file);
        assertThat(events).filteredOn(e -> e.getEventType().getName().equals("reclaimlab.Reclaim")
                && "direct".equals(e.getString("who"))).singleElement().satisfies(e -> {
                    assertThat(e.getString("gfp")).isEqualTo(Gfp.formatMode(Gfp.GFP_KERNEL | Gfp.__GFP_NORETRY));
                    assertThat(e.getInt("order")).isZero();
                    assertThat(e.getLong("reclaimed")).isZero();
                    assertThat(e.getString("task")).isEqualTo(k.currentTask().toString());
                });
        assertThat(events).filteredOn(e -> e.getEventType().getName().equals("reclaimlab.Reclaim")
                && "kswapd".equals(e.getString("who"))).isNotEmpty()
                .allSatisfy(e -> {
                    assertThat(e.getString("task")).startsWith("kswapd0");
                    assertThat(e.getString("gfp")).isEqualTo(Gfp.formatMode(Gfp.GFP_KERNEL));
                });
    }
}
