package dev.reclaimlab.testkit;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.watchdog.WatchdogReport;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/** The first report the kernel's watchdog makes, kept from the moment the test starts listening. */
public final class FirstReport {
    private final AtomicReference<WatchdogReport> first = new AtomicReference<>();
    private final CountDownLatch reported = new CountDownLatch(1);

    private FirstReport() {
    }

    /** Listens to {@code k}'s watchdog from now on. */
    public static FirstReport listen(Kernel k) {
        FirstReport f = new FirstReport();
        k.watchdog().addReportListener(r -> {
            if (f.first.compareAndSet(null, r)) {
                f.reported.countDown();
            }
        });
        return f;
    }

    /** Whether a report came within {@code seconds}. */
    public boolean await(long seconds) throws InterruptedException {
        return reported.await(seconds, TimeUnit.SECONDS);
    }

    /** The first report, or null if none came yet. */
    public WatchdogReport get() {
        return first.get();
    }
}
