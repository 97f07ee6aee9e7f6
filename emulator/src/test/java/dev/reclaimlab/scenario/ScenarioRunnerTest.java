package dev.reclaimlab.scenario;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Completion;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.LockdepReport;
import dev.reclaimlab.locking.Mutex;
import dev.reclaimlab.watchdog.BlockedTask;
import dev.reclaimlab.locking.WaitQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The runner end to end on FakeScenario (two kthreads, two locks, three variants) and on unclean workloads. */
class ScenarioRunnerTest {
    /** A seed whose "abba" run overlaps (deadlocks) and whose "fixed" run is clean. */
    private static final long SEED = 1;

    private static RunResult run(String variant, long seconds) {
        FakeScenario s = new FakeScenario();
        return ScenarioRunner.run(s, s.variant(variant), new RunOptions(seconds, SEED, 16L << 20, 2000, null));
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aRealDeadlockEndsTheRunAsDeadlockWithTheCycleInTheJson() {
        RunResult r = run("abba", 30);
        assertThat(r.outcome()).isEqualTo(Outcome.DEADLOCK);
        assertThat(r.asExpected()).isTrue();
        assertThat(r.detectedAfterMs()).isBetween(0L, 10_000L);
        assertThat(r.watchdogText()).contains("proven deadlock").contains("worker1").contains("worker2");
        String json = r.toJson();
        assertThat(json).contains("\"scenario\":\"fake\"", "\"variant\":\"abba\"", "\"outcome\":\"DEADLOCK\"",
                "\"expected\":\"DEADLOCK\"", "\"detectedAfterMs\":", "\"cycle\":[{\"task\":\"worker",
                "\"holds\":[", "\"waitsFor\":\"", "\"stack\":[", "\"vmstat\":{\"nr_free_pages\":");
        assertThat(r.summary()).contains("fake/abba: DEADLOCK after").endsWith("OK");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void theSameOrderTakenOneAfterTheOtherIsALockdepReportNotADeadlock() {
        RunResult r = run("sequential", 2);
        assertThat(r.outcome()).isEqualTo(Outcome.LOCKDEP);
        assertThat(r.lockdepTexts()).hasSize(1);
        assertThat(r.lockdepTexts().get(0)).contains("possible circular locking dependency");
        assertThat(r.toJson()).contains("\"lockdep\":[{").contains("\"cycle\":[]");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aCleanRunIsCleanAndAWrongExpectationIsReported() {
        RunResult r = run("fixed", 1);
        assertThat(r.outcome()).isEqualTo(Outcome.CLEAN);
        assertThat(r.progress()).isEqualTo("rounds 2");
        assertThat(r.samples()).as("one sample per progress second").hasSize(1);
        assertThat(r.samples().get(0).nrFreePages()).isPositive();
        assertThat(r.samples().get(0).atMs()).isBetween(900L, 2000L);
        Variant wrong = new Variant("fixed", "expects a deadlock", Outcome.DEADLOCK, List.of(FakeScenario.FAKE_FIX));
        RunResult r2 = ScenarioRunner.run(new FakeScenario(), wrong, new RunOptions(1, SEED, 16L << 20, 2000, null));
        assertThat(r2.asExpected()).isFalse();
        assertThat(r2.summary()).endsWith("UNEXPECTED");
    }

    private static final String LEFT = "one class for both locks";

    private static RunResult nested(Variant v) {
        return ScenarioRunner.run(new FakeScenario(), v, new RunOptions(1, SEED, 16L << 20, 2000, null));
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aReportOfAKindTheVariantLeavesIsAsExpectedAndStillLockdep() {
        RunResult r = nested(Variant.release("nested", "two locks of one class", Outcome.CLEAN)
                .leaving(LockdepReport.Type.RECURSIVE, LEFT));
        assertThat(r.lockdep()).extracting(LockdepReport::type).containsExactly(LockdepReport.Type.RECURSIVE);
        assertThat(r.outcome()).isEqualTo(Outcome.LOCKDEP);
        assertThat(r.asExpected()).isTrue();
        assertThat(r.lockdepNote()).endsWith("each of a kind the variant leaves (recursive: " + LEFT + ")");
        assertThat(r.summary()).endsWith("OK");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aReportTheVariantDoesNotLeaveIsUnexpected() {
        RunResult plain = nested(Variant.release("nested", "two locks of one class", Outcome.CLEAN));
        assertThat(plain.outcome()).isEqualTo(Outcome.LOCKDEP);
        assertThat(plain.asExpected()).isFalse();
        FakeScenario s = new FakeScenario();
        Variant sequential = Variant.release("sequential", "a circular report", Outcome.CLEAN)
                .leaving(LockdepReport.Type.RECURSIVE, LEFT);
        RunResult circular = ScenarioRunner.run(s, sequential, new RunOptions(2, SEED, 16L << 20, 2000, null));
        assertThat(circular.lockdep()).extracting(LockdepReport::type).containsExactly(LockdepReport.Type.CIRCULAR);
        assertThat(circular.asExpected()).isFalse();
        assertThat(circular.lockdepNote()).isEqualTo("lockdep reported 1 possible deadlock");
    }

    @Test
    void onlyACleanVariantCanLeaveReportsAndEachNeedsAReason() {
        assertThatThrownBy(() -> Variant.release("v", "d", Outcome.DEADLOCK).leaving(LockdepReport.Type.RECURSIVE,
                LEFT)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("variant v expects DEADLOCK");
        assertThatThrownBy(() -> Variant.release("v", "d", Outcome.CLEAN).leaving(LockdepReport.Type.RECURSIVE, " "))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs a type and a reason");
    }

    /** FakeScenario's "fixed" variant behind a set-up that takes longer than the run's one second. */
    private static final class SlowSetupScenario implements Scenario {
        static final long SETUP_MS = 1500;
        private final FakeScenario fake = new FakeScenario();

        @Override
        public String name() {
            return "slow-setup";
        }

        @Override
        public String description() {
            return "a set-up longer than the run";
        }

        @Override
        public KernelVersion version() {
            return fake.version();
        }

        @Override
        public List<String> seeds() {
            return List.of();
        }

        @Override
        public List<Variant> variants() {
            return fake.variants();
        }

        @Override
        public Workload start(Kernel k, Variant v, long seed) {
            // mkfs and a file tree on a loaded machine: time the workload must not be charged with.
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SETUP_MS);
            while (System.nanoTime() < end) {
                Thread.onSpinWait();
            }
            return fake.start(k, v, seed);
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void theRunsSecondsAreTheWorkloadsCountedFromItsStartNotFromBoot() {
        SlowSetupScenario s = new SlowSetupScenario();
        RunResult r = ScenarioRunner.run(s, s.variant("fixed"), new RunOptions(1, SEED, 16L << 20, 2000, null));
        assertThat(r.outcome()).isEqualTo(Outcome.CLEAN);
        assertThat(r.setupMs()).isGreaterThanOrEqualTo(SlowSetupScenario.SETUP_MS);
        assertThat(r.durationMs() - r.setupMs()).isGreaterThanOrEqualTo(1000);
        assertThat(r.samples()).as("the workload's second is sampled").hasSize(1);
        assertThat(r.samples().get(0).atMs()).isGreaterThanOrEqualTo(r.setupMs() + 900);
        assertThat(r.toJson()).contains("\"setupMs\":" + r.setupMs());
    }

    /**
     * Runs that are not CLEAN although the watchdog says nothing: "stuck" does real work for a moment and
     * then none while its task idles; "stubborn" keeps working but has a task that ignores the stop and so
     * needs close()'s panic.
     */
    private static final class UncleanScenario implements Scenario {
        @Override
        public String name() {
            return "unclean-test";
        }

        @Override
        public String description() {
            return "work that stops, a task that will not";
        }

        @Override
        public KernelVersion version() {
            return KernelVersion.V4_3;
        }

        @Override
        public List<String> seeds() {
            return List.of();
        }

        @Override
        public List<Variant> variants() {
            return List.of(Variant.release("stuck", "work stops while the task idles", Outcome.STALL),
                    Variant.release("stubborn", "a task ignores kthread_stop", Outcome.STALL),
                    Variant.release("steady", "work until the end", Outcome.CLEAN),
                    Variant.release("late", "an ABBA deadlock that forms as the workload stops", Outcome.DEADLOCK));
        }

        @Override
        public Workload start(Kernel k, Variant v, long seed) {
            AtomicLong work = new AtomicLong();
            WaitQueue idle = new WaitQueue("idle");
            k.kthreadRun("worker", self -> {
                long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
                while (!self.kthreadShouldStop()) {
                    if (v.name().equals("stuck") && System.nanoTime() > until) {
                        // Nothing left to do, idling: no watchdog report, but no progress either.
                        idle.waitEventInterruptibleTimeout(self::kthreadShouldStop, -1);
                        continue;
                    }
                    work.incrementAndGet();
                    self.scheduleTimeout(1_000_000L);
                }
            });
            if (v.name().equals("stubborn")) {
                k.kthreadRun("stubborn", self -> idle.waitEventInterruptibleTimeout(() -> false, -1));
            }
            Completion go = new Completion("workload stopping");
            if (v.name().equals("late")) {
                lateAbba(k, go);
            }
            return new Workload() {
                @Override
                public String progress() {
                    return "work " + work.get();
                }

                @Override
                public long workDone() {
                    return work.get();
                }

                @Override
                public List<String> errors() {
                    return List.of();
                }

                @Override
                public void stop() {
                    go.completeAll();
                }
            };
        }

        /** Two tasks that take a and b in opposite orders once {@code go} completes, each holding its first. */
        private static void lateAbba(Kernel k, Completion go) {
            Mutex a = new Mutex("late_a", new LockClassKey("late_abba_a"));
            Mutex b = new Mutex("late_b", new LockClassKey("late_abba_b"));
            Completion oneHolds = new Completion("late1 holds a");
            Completion twoHolds = new Completion("late2 holds b");
            Task t1 = k.kthreadRun("late1", self -> {
                go.waitForCompletion();
                a.mutexLock();
                oneHolds.complete();
                twoHolds.waitForCompletion();
                b.mutexLock();
            });
            Task t2 = k.kthreadRun("late2", self -> {
                go.waitForCompletion();
                b.mutexLock();
                twoHolds.complete();
                oneHolds.waitForCompletion();
                a.mutexLock();
            });
            oneHolds.expectWaker(t1);
            twoHolds.expectWaker(t2);
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aDeadlockProvenAfterTheRunsSecondsHasItsDetectionTime() {
        RunResult r = runUnclean("late", 1);
        assertThat(r.outcome()).isEqualTo(Outcome.DEADLOCK);
        assertThat(r.watchdog().tasks()).extracting(BlockedTask::comm)
                .containsExactlyInAnyOrder("late1", "late2");
        assertThat(r.detectedAfterMs()).as("proven while close() waited for the tasks")
                .isGreaterThanOrEqualTo(r.setupMs() + 1000).isLessThanOrEqualTo(r.durationMs());
        assertThat(r.toJson()).contains("\"detectedAfterMs\":" + r.detectedAfterMs());
    }

    private static RunResult runUnclean(String variant, long seconds) {
        UncleanScenario s = new UncleanScenario();
        return ScenarioRunner.run(s, s.variant(variant), new RunOptions(seconds, 1, 16L << 20, 1000, null));
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void workThatStoodStillLongerThanTheHungTaskTimeoutIsNotCleanEvenWithoutAReport() {
        RunResult r = runUnclean("stuck", 3);
        assertThat(r.watchdog()).isNull();
        assertThat(r.outcome()).isEqualTo(Outcome.STALL);
        assertThat(r.errors()).singleElement().asString().startsWith("not clean: the workload's work stood still for");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aRunWhoseCloseNeededAPanicIsNotClean() {
        RunResult r = runUnclean("stubborn", 1);
        assertThat(r.watchdog()).isNull();
        assertThat(r.outcome()).isEqualTo(Outcome.STALL);
        assertThat(r.errors()).singleElement().asString().startsWith("not clean: close() needed a panic");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void workThatKeepsMovingToTheEndAndAnOrderlyCloseAreClean() {
        RunResult r = runUnclean("steady", 3);
        assertThat(r.outcome()).as("%s", r.errors()).isEqualTo(Outcome.CLEAN);
        assertThat(r.errors()).isEmpty();
    }
}
