package dev.reclaimlab.testkit;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelConfig;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Completion;
import dev.reclaimlab.locking.WaitKind;
import dev.reclaimlab.locking.WaitRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

@Timeout(60)
@ExtendWith(KernelExtension.class)
class TestKitTest {
    private static volatile boolean launched;
    private static final List<Kernel> SEEN = new CopyOnWriteArrayList<>();
    private static final List<Task> CURRENT = new CopyOnWriteArrayList<>();
    private static final CountDownLatch RELEASE = new CountDownLatch(1);

    /** The inner test classes run only under {@link #run}, never on their own. */
    static boolean launched() {
        return launched;
    }

    private static TestExecutionSummary run(Class<?> testClass) {
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        launched = true;
        try {
            LauncherFactory.create().execute(LauncherDiscoveryRequestBuilder.request()
                    .selectors(selectClass(testClass)).build(), listener);
        } finally {
            launched = false;
        }
        return listener.getSummary();
    }

    @Boot
    private static final class Defaults {
    }

    @Test
    void bootDefaultsAreTheKernelConfigDefaults() {
        assertThat(KernelExtension.config(Defaults.class.getAnnotation(Boot.class)).toString())
                .isEqualTo(KernelConfig.defaults().toString());
    }

    @EnabledIf("dev.reclaimlab.testkit.TestKitTest#launched")
    @ExtendWith(KernelExtension.class)
    @Boot(memory = "8m", watchdog = false)
    static class FailingTest {
        @Test
        void fails(Kernel k, Kernels kernels) {
            SEEN.add(k);
            CURRENT.add(Task.current());
            Kernel more = kernels.boot(b -> b.cpus(1));
            SEEN.add(more);
            CURRENT.add(Task.current());
            throw new AssertionError("the test fails");
        }
    }

    @Test
    void everyKernelBootedForATestIsClosedAfterItEvenWhenItFails() {
        SEEN.clear();
        CURRENT.clear();
        TestExecutionSummary s = run(FailingTest.class);
        assertThat(s.getTestsFailedCount()).isEqualTo(1);
        assertThat(s.getFailures().get(0).getException()).hasMessage("the test fails").hasNoSuppressedExceptions();
        assertThat(SEEN).hasSize(2).allSatisfy(k -> {
            assertThat(k.isClosed()).isTrue();
            assertThat(k.mm().offHeapBytes()).isZero();
        });
        assertThat(SEEN.get(0).config().memoryBytes()).isEqualTo(8L << 20);
        assertThat(SEEN.get(0).config().watchdog()).isFalse();
        assertThat(SEEN.get(1).config().nrCpus()).as("Kernels starts from the class's @Boot").isEqualTo(1);
        assertThat(SEEN.get(1).config().memoryBytes()).isEqualTo(8L << 20);
        assertThat(CURRENT).extracting(Task::kernel).as("the test thread is attached to each")
                .containsExactlyElementsOf(SEEN);
    }

    @EnabledIf("dev.reclaimlab.testkit.TestKitTest#launched")
    @ExtendWith(KernelExtension.class)
    static class LeakingTest {
        @Test
        @Boot(memory = "4m", watchdog = false, kswapd = false)
        void leaks(Kernel k) {
            SEEN.add(k);
            // Not a kernel wait: neither kthread_stop nor the panic can end it, so close() must leak.
            k.kthreadRun("unkillable", self -> {
                for (;;) {
                    try {
                        RELEASE.await();
                        return;
                    } catch (InterruptedException e) {
                        // Ignored on purpose: this thread outlives its kernel until the test releases it.
                    }
                }
            });
        }
    }

    @Test
    void aKernelThatStillHoldsMemoryAfterCloseFailsThePassingTest() throws Exception {
        SEEN.clear();
        try {
            TestExecutionSummary s = run(LeakingTest.class);
            assertThat(s.getTestsFailedCount()).isEqualTo(1);
            Throwable e = s.getFailures().get(0).getException();
            assertThat(e).isInstanceOf(AssertionError.class).hasMessageContaining("leaked")
                    .hasMessageContaining("off-heap bytes after close()")
                    .hasMessageContaining("mem=4096K");
            assertThat(e.getCause()).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("still running after panic");
            assertThat(SEEN).singleElement().satisfies(k -> assertThat(k.mm().offHeapBytes()).isPositive());
        } finally {
            RELEASE.countDown();
        }
    }

    @Test
    void untilReturnsOnceTheConditionHolds() {
        AtomicInteger polls = new AtomicInteger();
        Await.until(() -> polls.incrementAndGet() == 1000, "a thousand polls", Duration.ofSeconds(30));
        assertThat(polls).hasValue(1000);
    }

    @Test
    void untilTimesOutNamingWhatItWaitedFor() {
        assertThatThrownBy(() -> Await.until(() -> false, "pigs fly", Duration.ofMillis(50)))
                .isInstanceOf(AssertionError.class)
                .hasMessage("timed out after PT0.05S waiting until pigs fly");
    }

    @Test
    @Boot(memory = "8m", watchdog = false)
    void blockedReturnsTheWaitOfATaskAsleepOnACompletion(Kernel k) throws Exception {
        Task me = k.currentTask();
        Completion gate = new Completion("gate").expectWaker(me);
        Task waiter = k.kthreadRun("waiter", self -> gate.waitForCompletion());
        WaitRecord.Snapshot s = Await.blocked(waiter, Duration.ofSeconds(30));
        assertThat(s.kind()).isEqualTo(WaitKind.COMPLETION);
        assertThat(s.on().name()).isEqualTo("gate");
        assertThat(s.wakers().tasks()).containsExactly(me);
        gate.complete();
        assertThat(k.kthreadStop(waiter)).isTrue();
    }

    @Test
    @Boot(memory = "8m", watchdog = false)
    void blockedTimesOutOnATaskThatNeverSleeps(Kernel k) {
        Task me = k.currentTask();
        assertThatThrownBy(() -> Await.blocked(me, Duration.ofMillis(50)))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("timed out after PT0.05S waiting until " + me + " blocks")
                .hasMessageContaining("its wait: none");
    }
}
