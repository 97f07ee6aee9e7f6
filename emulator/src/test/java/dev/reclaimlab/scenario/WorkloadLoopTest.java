package dev.reclaimlab.scenario;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelPanic;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/** The run loop the scenario workloads share: who ends it, what it counts, which failures are findings. */
@ExtendWith(KernelExtension.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class WorkloadLoopTest {

    @Test
    void oneTaskFailingEndsEveryTaskAndIsTheOnlyFinding(Kernel k) throws InterruptedException {
        WorkloadLoop loop = new WorkloadLoop();
        CountDownLatch exited = new CountDownLatch(2);
        AtomicInteger failing = new AtomicInteger();
        k.kthreadRun("failing", self -> {
            try {
                loop.run(self, () -> {
                    if (failing.incrementAndGet() == 5) {
                        throw new AssertionError("data mismatch");
                    }
                });
            } finally {
                exited.countDown();
            }
        });
        k.kthreadRun("healthy", self -> {
            try {
                loop.run(self, Thread::onSpinWait);
            } finally {
                exited.countDown();
            }
        });
        exited.await();
        assertThat(loop.errors()).singleElement().asString().contains("failing").endsWith("data mismatch");
        assertThat(failing.get()).isEqualTo(5);
        assertThat(loop.ops()).isGreaterThanOrEqualTo(4);
    }

    @Test
    void aFailureOnceStoppingIsTheStopsDoingNotAFinding(Kernel k) throws InterruptedException {
        WorkloadLoop loop = new WorkloadLoop();
        CountDownLatch exited = new CountDownLatch(1);
        k.kthreadRun("stopped", self -> {
            try {
                loop.run(self, () -> {
                    loop.stop();
                    throw new IllegalStateException("EIO from a closing kernel");
                });
            } finally {
                exited.countDown();
            }
        });
        exited.await();
        assertThat(loop.errors()).isEmpty();
        assertThat(loop.ops()).isZero();
        assertThat(loop.stopping()).isTrue();
    }

    @Test
    void aKernelPanicPassesThroughUncounted(Kernel k) throws InterruptedException {
        WorkloadLoop loop = new WorkloadLoop();
        CountDownLatch exited = new CountDownLatch(1);
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        k.kthreadRun("panicking", self -> {
            try {
                loop.run(self, () -> {
                    throw new KernelPanic("test");
                });
            } catch (KernelPanic p) {
                thrown.set(p);
            } finally {
                exited.countDown();
            }
        });
        exited.await();
        assertThat(thrown.get()).isInstanceOf(KernelPanic.class);
        assertThat(loop.errors()).isEmpty();
        assertThat(loop.ops()).isZero();
    }
}
