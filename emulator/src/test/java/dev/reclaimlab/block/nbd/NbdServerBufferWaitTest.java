package dev.reclaimlab.block.nbd;

import dev.reclaimlab.fs.ext2.Ext2File;
import dev.reclaimlab.kernel.FaultInjection;
import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.scenario.Nbd22Host;
import dev.reclaimlab.swap.Kpiod;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import dev.reclaimlab.watchdog.WaitEdge;
import dev.reclaimlab.watchdog.WatchdogReport;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The buffer-cache deadlock of a local nbd-server on Linux 2.2, which no reclaim fix touches: kflushd's pass
 * writes nbd0's dirty buffers with blocking WRITEs and waits for request slots held by requests only the
 * server can answer, while the server's own write to its export file finds no buffer memory and sleeps in
 * refill_freelist() -> wakeup_bdflush(1) until kflushd ends that pass.
 */
@Timeout(120)
@ExtendWith(KernelExtension.class)
class NbdServerBufferWaitTest {

    @ParameterizedTest(name = "kpiod {0}")
    @ValueSource(booleans = {false, true})
    void aServerWhoseGetblkFindsNoBufferMemoryWaitsForAKflushdPassThatWaitsForTheServer(boolean kpiod,
            Kernels kernels) {
        Fix[] fixes = kpiod ? new Fix[] {Kpiod.KPIOD} : new Fix[0];
        Kernel k = kernels.boot(b -> b.version(KernelVersion.V2_2).memory("32m").hungTaskScanMillis(50).with(fixes));
        Nbd22Host h = Nbd22Host.build(k, 24L << 20, 16L << 20);
        // The server's disk keeps no idle buffers, so each answer to an nbd0 write needs a new one; and
        // whatever memory shortage does to the server's grow_buffers() is done here by failing its
        // SLAB_ATOMIC buffer heads.
        assertThat(h.mm().buffers().syncBuffers(h.localDisk())).isZero();
        h.mm().pageCache().invalidateInodePages(h.export().mapping());
        h.mm().buffers().dropBuffers(h.localDisk());
        FaultInjection fi = k.faultInjection();
        fi.write("/sys/kernel/slab/buffer_head/failslab", "1");
        fi.write("failslab/cache-filter", "Y");
        fi.write("failslab/task-comm", "nbd-server");
        fi.write("failslab/probability", "100");
        fi.write("failslab/times", "-1");
        // 64 KiB written: more dirty nbd0 buffers than the 21 request slots an nbd write may hold; then
        // kflushd is woken, as past nfract it would be.
        Ext2File f = h.fs().create(null, "burst");
        byte[] data = new byte[64 << 10];
        new SplittableRandom(7).nextBytes(data);
        k.kthreadRun("writer", 0, self -> {
            f.write(data, 0, data.length, 0);
            h.mm().buffers().wakeupBdflush(false);
        });
        Await.until(() -> !k.watchdog().reports().isEmpty(), "the watchdog's report", Duration.ofSeconds(60));
        WatchdogReport r = k.watchdog().reports().get(0);
        assertThat(r.type()).isEqualTo(WatchdogReport.Type.DEADLOCK);
        assertThat(r.edges()).extracting(WaitEdge::from).containsExactlyInAnyOrder(
                h.mm().buffers().bdflush().task().toString(), h.client().task().toString(),
                h.server().task().toString());
        assertThat(r.edges()).anySatisfy(e -> {
            assertThat(e.from()).isEqualTo(h.server().task().toString());
            assertThat(e.via()).contains("bdflush_done");
            assertThat(e.to()).isEqualTo(h.mm().buffers().bdflush().task().toString());
        });
        assertThat(r.edges()).anySatisfy(e -> {
            assertThat(e.from()).isEqualTo(h.mm().buffers().bdflush().task().toString());
            assertThat(e.via()).contains("wait_for_request");
        });
        assertThat(h.mm().buffers().growFailures()).isPositive();
    }
}
