package dev.reclaimlab.trace;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.locking.Completion;
import dev.reclaimlab.locking.Throttle;
import dev.reclaimlab.locking.WaitQueue;
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
}
