package dev.reclaimlab.scenario;

import dev.reclaimlab.watchdog.BlockedTask;
import dev.reclaimlab.watchdog.WaitEdge;
import dev.reclaimlab.watchdog.WatchdogReport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** Seed 004 end to end on a 32 MiB Linux 2.2.1 machine. */
class KswiodNbdTest {
    private static final KswiodNbd SCENARIO = new KswiodNbd();

    private static RunResult run(String variant, long seconds, long seed) {
        return ScenarioRunner.run(SCENARIO, SCENARIO.variant(variant),
                new RunOptions(seconds, seed, 32L << 20, 10_000, null));
    }

    /** The first of up to three seeds that deadlocks (each run is bounded by the watchdog's panic). */
    private static RunResult deadlock(String variant) {
        RunResult r = null;
        for (long seed = 1; seed <= 3; seed++) {
            r = run(variant, 45, seed);
            if (r.outcome() == Outcome.DEADLOCK) {
                return r;
            }
        }
        return r;
    }

    /** The report's cycle is a cycle: each task waits for the next, the last for the first. */
    private static void assertIsACycle(WatchdogReport w) {
        List<WaitEdge> edges = w.edges();
        List<BlockedTask> tasks = w.tasks();
        assertThat(edges).hasSameSizeAs(tasks).isNotEmpty();
        for (int i = 0; i < edges.size(); i++) {
            assertThat(edges.get(i).from()).isEqualTo(tasks.get(i).task());
            assertThat(edges.get(i).to()).isEqualTo(tasks.get((i + 1) % tasks.size()).task());
            assertThat(tasks.get(i).wakers()).as("%s names who can end its wait", tasks.get(i).task())
                    .contains(edges.get(i).to());
            assertThat(tasks.get(i).stack()).isNotEmpty();
        }
    }

    private static long field(String progress, String regex) {
        Matcher m = Pattern.compile(regex).matcher(progress);
        assertThat(m.find()).as("%s in %s", regex, progress).isTrue();
        return Long.parseLong(m.group(1));
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void theReleasedKernelDeadlocksThroughAWriteInReclaimOrTheServersBufferWait() {
        RunResult r = deadlock("linux-2.2.1");
        assertThat(r.outcome()).as(r.summary() + " " + r.errors()).isEqualTo(Outcome.DEADLOCK);
        assertIsACycle(r.watchdog());
        // 2.2.1's filemap_swapout() writes in the reclaiming task (kswapd's do_try_to_free_pages() included),
        // and some task of the cycle is there; or the nbd-server waits in getblk() for a kflushd pass that
        // waits for the server.
        boolean writeInReclaim = r.watchdog().tasks().stream().anyMatch(t -> t.stack().stream()
                .anyMatch(f -> f.contains("doTryToFreePages")) && t.stack().stream()
                .anyMatch(f -> f.contains("filemapWritePage")));
        assertThat(writeInReclaim || isTheServerBdflushCycle(r.watchdog())).as(r.watchdogText()).isTrue();
        assertThat(r.watchdog().kernelVersion()).isEqualTo("2.2.1");
        assertThat(r.lockdep()).isEmpty();
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void tweediesKswiodDeadlocksWhenSomebodyWaitsForOneSpecificSwapIoAtAStalledKswiod() {
        RunResult r = deadlock("linux-2.2-kswiod");
        assertThat(r.outcome()).as(r.summary() + " " + r.errors()).isEqualTo(Outcome.DEADLOCK);
        assertIsACycle(r.watchdog());
        List<BlockedTask> stuck = r.watchdog().blockedTasks();
        assertThat(stuck).as("the stuck tasks include kswiod").anyMatch(t -> t.comm().equals("kswiod"));
        assertThat(stuck).as("and a task waiting for its own swap page at kswiod")
                .anyMatch(t -> t.waitsOn() != null && t.waitsOn().contains("swapper_inode")
                        && t.wakers().stream().anyMatch(x -> x.startsWith("kswiod:")));
    }

    /**
     * kpiod leaves one cycle that is not reclaim's: the nbd-server's own getblk() finds no buffer memory and
     * waits in wakeup_bdflush(1) for a kflushd pass that is writing to nbd0 and so waits for the server.
     */
    private static boolean isTheServerBdflushCycle(WatchdogReport w) {
        return w.tasks().stream().anyMatch(t -> t.comm().equals("nbd-server") && "bdflush_done".equals(t.waitsOn())
                && t.stack().stream().anyMatch(f -> f.contains("refillFreelist")));
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void withKpiodTheSameWorkloadRunsCleanForAShortRunAndReclaimNeverWaitsForASharedPageWrite() {
        RunResult r = null;
        for (long seed = 5; seed <= 7; seed++) {
            r = run("kpiod", 12, seed);
            if (r.outcome() == Outcome.CLEAN) {
                break;
            }
            // Not the seed's cycle and not reclaim's: the left-over the README describes.
            assertThat(r.outcome()).as(r.summary() + " " + r.errors()).isEqualTo(Outcome.DEADLOCK);
            assertThat(isTheServerBdflushCycle(r.watchdog())).as(r.watchdogText()).isTrue();
            assertThat(r.watchdog().tasks()).noneSatisfy(t -> assertThat(t.stack())
                    .anyMatch(f -> f.contains("filemapWritePage")));
        }
        assertThat(r.outcome()).as(r.summary() + " " + r.errors() + " " + r.progress()).isEqualTo(Outcome.CLEAN);
        String p = r.progress();
        assertThat(field(p, "verified (\\d+)M")).isPositive();
        assertThat(field(p, "filemap-swapouts (\\d+)")).as("reclaim met shared pages").isPositive();
        assertThat(field(p, "kpiod queue \\d+ \\(max \\d+\\) written (\\d+)")).isPositive();
        assertThat(field(p, "pswpout (\\d+)")).as("anonymous pages went to swap").isPositive();
        assertThat(field(p, "killed (\\d+)")).isZero();
        assertThat(r.vmstat().get("allocstall_normal")).as("allocations reclaimed").isPositive();
    }
}
