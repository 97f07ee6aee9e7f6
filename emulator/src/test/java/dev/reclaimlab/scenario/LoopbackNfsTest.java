package dev.reclaimlab.scenario;

import dev.reclaimlab.fs.VfsException;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.locking.LockdepReport;
import dev.reclaimlab.nfsd.Nfsd;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Seeds 000 and 003 end to end on 3.14: the deadlock for real, what hung_task and lockdep see, a fix clean. */
@ExtendWith(KernelExtension.class)
@Boot(memory = "64m", version = "3.14", hungTaskTimeoutMillis = 30_000)
class LoopbackNfsTest {
    private static final LoopbackNfs SCENARIO = new LoopbackNfs();

    /**
     * Lockdep sees it only where the 2014 patches made it see it: with nfsd's loop-back requests counted as
     * reclaim context (RFC 06/19), a local unlink's __d_alloc(GFP_KERNEL) under the directory's i_mutex and an
     * nfsd LOOKUP taking that i_mutex make "inconsistent lock state" on the i_mutex class, with nothing hung
     * and no memory pressure; without it lockdep is silent.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void lockdepReportsTheIMutexInReclaimContextOnlyWithNfsdAnnotated(boolean annotated, Kernels kernels) {
        Kernel k = kernels.boot(b -> b.version(dev.reclaimlab.kernel.KernelVersion.V3_14)
                .with(Nfsd.NFSD_LOCKDEP_RECLAIM, annotated));
        k.currentTask();
        NfsLoopStack s = NfsLoopStack.build(k, 256L << 20, 64L << 20, 1);
        s.xfs().vfs().close(s.xfs().vfs().mkdir("/", "d"));
        s.xfs().vfs().close(s.xfs().vfs().create("/d", "victim"));
        s.xfs().vfs().unlink("/d", "victim");
        try {
            s.nfs().vfs().open("/d/missing");
        } catch (VfsException expected) {
            assertThat(expected.errno()).isEqualTo(dev.reclaimlab.kernel.Errno.ENOENT);
        }
        List<LockdepReport> reports = k.lockdep().reports();
        assertThat(k.watchdog().reports()).isEmpty();
        if (annotated) {
            assertThat(reports).anySatisfy(rep -> {
                assertThat(rep.type()).isEqualTo(LockdepReport.Type.INCONSISTENT_USAGE);
                assertThat(rep.classes()).anyMatch(c -> c.contains("i_mutex_dir_key"));
            });
        } else {
            assertThat(reports).isEmpty();
            assertThat(SCENARIO.lockdepBlindSpot()).contains("not reclaim context");
        }
    }

    /** The 3.18 fix runs the scenario's workload clean for 3 s (it does not check that reclaim met an NFS page). */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void releasePageTimeoutRunsTheWorkloadClean() {
        RunResult r = ScenarioRunner.run(SCENARIO, SCENARIO.variant("release-page-timeout"),
                new RunOptions(7, 3, 64L << 20, 10_000, null));
        assertThat(r.outcome()).as(r.errors() + " " + r.progress()).isEqualTo(Outcome.CLEAN);
    }
}
