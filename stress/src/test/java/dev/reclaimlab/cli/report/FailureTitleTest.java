package dev.reclaimlab.cli.report;

import dev.reclaimlab.cli.json.CycleTask;
import dev.reclaimlab.cli.json.JsonCodec;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class FailureTitleTest {
    private static CycleTask task(String name, String waitsFor, String... stack) {
        return new CycleTask(name, List.of(), waitsFor, List.of(stack));
    }

    @Test
    void aCycleIsTitledByItsTaskNamesFromTheSameStartWhereverTheReportBegins() {
        CycleTask cil = task("xfs-cil/loop1:9", "waitqueue l_flush_wait loop1 -> kloopd1:8");
        CycleTask write = task("kloopd1:8", "rwsem-write &ip->i_iolock (class XFS_IOLOCK) -> kloopd1:7");
        CycleTask read = task("kloopd1:7", "completion xfs_cil_ctx loop1 seq 11 -> xfs-cil/loop1:9");
        String t = "deadlock: kloopd1 -> kloopd1 -> xfs-cil/loop1 -> kloopd1";
        assertThat(FailureTitle.deadlock(List.of(cil, write, read))).isEqualTo(t);
        assertThat(FailureTitle.deadlock(List.of(write, read, cil))).isEqualTo(t);
        assertThat(FailureTitle.deadlock(List.of(read, cil, write))).isEqualTo(t);
        assertThat(write.waitsOn()).isEqualTo("rwsem-write &ip->i_iolock (class XFS_IOLOCK)");
        assertThat(write.waitsForTask()).isEqualTo("kloopd1:7");
    }

    @Test
    void theGuiltyFrameSkipsTheSchedulerAndSleepingPrimitives() {
        assertThat(FailureTitle.guiltyFrame(List.of("schedule (Task.java:197)", "sleep (RwSemaphore.java:253)",
                "downWrite (RwSemaphore.java:83)", "xfsIlock (XfsInode.java:136)",
                        "xfsFileWriteIter (XfsFile.java:105)")))
                .isEqualTo("xfsIlock");
        assertThat(FailureTitle.guiltyFrame(List.of("schedule (Task.java:197)",
                "waitForCompletion (Completion.java:60)",
                "xfsLogForce (XfsLog.java:177)"))).isEqualTo("xfsLogForce");
    }

    @Test
    void hungTasksAreTitledByTheirCallTraceAndLockdepByItsStack() {
        String text = "INFO: task kloopd1:7 blocked for more than 10 seconds.\n waiting on x\nCall Trace:\n"
                + " schedule (Task.java:197)\n waitForCompletion (Completion.java:60)\n xfsLogForce (XfsLog.java:177)\n";
        assertThat("INFO: task hung in " + FailureTitle.guiltyFrame(FailureTitle.callTrace(text)))
                .isEqualTo("INFO: task hung in xfsLogForce");
        assertThat(FailureTitle.lockdep(JsonCodec.tree("{\"type\":\"circular\",\"stack\":[\"mutexLock (Mutex.java:1)\","
                + "\"xfsIlock (XfsInode.java:2)\"]}"))).isEqualTo("possible deadlock in xfsIlock");
        assertThat(FailureTitle.lockdep(JsonCodec.tree("{\"type\":\"bad_unlock\",\"stack\":[\"f (A.java:1)\"]}")))
                .isEqualTo("WARNING: bad unlock balance in f");
    }

    @Test
    void errorTitlesMaskNumbersSoOneBugIsOneTitle() {
        assertThat(FailureTitle.error("data mismatch in file 12 at 81920 (0x1f000)"))
                .isEqualTo(FailureTitle.error("data mismatch in file 7 at 4096 (0xabc)"))
                .isEqualTo("ERROR: data mismatch in file N at N (ADDR)");
    }

    @Test
    void wilsonIntervalsMatchTheFormula() {
        assertThat(Stats.wilson(0, 10))
                .containsExactly(new double[] {0, 0.2775}, org.assertj.core.api.Assertions.within(1e-4));
        assertThat(Stats.wilson(10, 10))
                .containsExactly(new double[] {0.7225, 1}, org.assertj.core.api.Assertions.within(1e-4));
        assertThat(Stats.wilson(5, 10))
                .containsExactly(new double[] {0.2366, 0.7634}, org.assertj.core.api.Assertions.within(1e-4));
        assertThat(Stats.percentile(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L), 90)).isEqualTo(9);
        assertThat(Stats.percentile(List.of(1L, 2L, 3L), 50)).isEqualTo(2);
        assertThat(SummaryTable.seeds(List.of(7L, 1L, 2L, 3L, 9L, 10L))).isEqualTo("1..3,7,9..10");
    }
}
