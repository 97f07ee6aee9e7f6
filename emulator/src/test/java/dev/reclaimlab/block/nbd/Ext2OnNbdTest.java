package dev.reclaimlab.block.nbd;

import dev.reclaimlab.fs.ext2.Ext2File;
import dev.reclaimlab.fs.ext2.Ext2Fs;
import dev.reclaimlab.fs.ext2.Ext2Inode;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.scenario.Nbd22Host;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** ext2 on nbd0 served by a local nbd-server from a file on a local ext2 (Linux 2.2). */
@Timeout(120)
@ExtendWith(KernelExtension.class)
class Ext2OnNbdTest {

    private static Nbd22Host host(Kernels kernels) {
        Kernel k = kernels.boot(b -> b.version(KernelVersion.V2_2).memory("32m"));
        return Nbd22Host.build(k, 24L << 20, 16L << 20);
    }

    private static byte[] data(int n, long seed) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    /**
     * Drops every clean page and buffer of both filesystems, so reads go through nbd to the server's disk. A page
     * or buffer that kswapd, bdflush or update holds at that moment is skipped, so the drop goes round until a
     * pass frees nothing, and the files' own pages must be gone.
     */
    private static void dropCaches(Nbd22Host h, Ext2File... files) {
        for (int pass = 0; pass < 100; pass++) {
            int freed = 0;
            for (Ext2File f : files) {
                freed += h.mm().pageCache().invalidateInodePages(f.mapping());
            }
            freed += h.mm().pageCache().invalidateInodePages(h.export().mapping());
            freed += h.mm().buffers().dropBuffers(h.nbd());
            freed += h.mm().buffers().dropBuffers(h.localDisk());
            if (freed == 0) {
                break;
            }
        }
        for (Ext2File f : files) {
            assertThat(f.mapping().nrpages()).as("%s's cached pages after the drop", f).isZero();
        }
    }

    @Test
    void bytesWrittenToExt2OnNbdReadBackExactlyAfterTheyHaveBeenOnTheServersDisk(Kernels kernels) {
        Nbd22Host h = host(kernels);
        Ext2Fs fs = h.fs();
        Ext2Inode dir = fs.mkdir(null, "d");
        Ext2File[] files = new Ext2File[6];
        byte[][] content = new byte[files.length][];
        for (int i = 0; i < files.length; i++) {
            files[i] = fs.create(dir, "f" + i);
            content[i] = data(50_000 + i * 12_345, i);
            assertThat(files[i].write(content[i], 0, content[i].length, 0)).isEqualTo(content[i].length);
        }
        // sync: nbd0's dirty buffers go to the server, then the server's to its disk.
        assertThat(h.mm().buffers().syncBuffers(h.nbd())).isZero();
        assertThat(h.mm().buffers().syncBuffers(h.localDisk())).isZero();
        dropCaches(h, files);
        long before = h.nbd().requestsIn();
        for (int i = 0; i < files.length; i++) {
            byte[] got = new byte[content[i].length];
            assertThat(files[i].read(got, 0, got.length, 0)).isEqualTo(got.length);
            assertThat(got).as("f%d", i).isEqualTo(content[i]);
            files[i].close();
        }
        assertThat(h.nbd().requestsIn() - before).as("the reads went over nbd").isPositive();
        assertThat(h.server().served()).isPositive();
        assertThat(h.nbd().failed()).isZero();
        assertThat(fs.errors()).isZero();
    }

    @Test
    void aFileWithAHoleReadsZerosThereAndAllocatesNoBlockForIt(Kernels kernels) {
        Nbd22Host h = host(kernels);
        Ext2File f = h.fs().create(null, "sparse");
        byte[] tail = data(4096, 9);
        assertThat(f.write(tail, 0, tail.length, 1 << 20)).isEqualTo(4096);
        assertThat(f.iSize()).isEqualTo((1 << 20) + 4096);
        assertThat(f.inode().nrBlocks()).isEqualTo(4);
        byte[] hole = new byte[8192];
        hole[5] = 1;
        assertThat(f.read(hole, 0, hole.length, 4096)).isEqualTo(hole.length);
        assertThat(hole).containsOnly((byte) 0);
        f.close();
    }

    @Test
    void anNbdServerThatDiesMidRequestEndsTheWaitingReadWithAnErrorInsteadOfAHang(Kernels kernels) {
        Nbd22Host h = host(kernels);
        Ext2File f = h.fs().create(null, "victim");
        byte[] content = data(64 << 10, 3);
        f.write(content, 0, content.length, 0);
        assertThat(h.mm().buffers().syncBuffers(h.nbd())).isZero();
        dropCaches(h, f);
        h.server().dieMidRequest();
        byte[] got = new byte[content.length];
        long r = f.read(got, 0, got.length, 0);
        assertThat(r).as("the read fails with -EIO").isEqualTo(-dev.reclaimlab.kernel.Errno.EIO);
        assertThat(h.server().exitReason()).isEqualTo("died in the middle of a request");
        assertThat(h.nbd().failed()).isPositive();
        // NBD_CLEAR_SOCK ran: later requests fail at once ("Request when not-ready.").
        dev.reclaimlab.testkit.Await.until(() -> h.client().task().state() == dev.reclaimlab.kernel.Task.TASK_DEAD,
                "nbd-client exits after NBD_CLEAR_SOCK", java.time.Duration.ofSeconds(10));
        assertThat(f.read(got, 0, 1024, 8 << 10)).isEqualTo(-dev.reclaimlab.kernel.Errno.EIO);
        // Behind the indirect block, 2.2's ext2_bmap() reads the map with bread(); its failure maps a hole. The
        // first read may have brought the indirect block in before the server died (which request it dies in
        // is the server's timing), so its cached copy is forgotten first.
        h.mm().buffers().invalidateBuffers(h.nbd());
        got[0] = 1;
        assertThat(f.read(got, 0, 1024, 32 << 10)).isEqualTo(1024);
        assertThat(java.util.Arrays.copyOf(got, 1024)).containsOnly((byte) 0);
        assertThat(h.kernel().dmesg()).contains("Request when not-ready.");
        f.close();
    }

    /** A server ended by the kernel's panic says so, which the scenario does not count as a finding of its own. */
    @Test
    void anNbdServerEndedByAKernelPanicSaysItWasThePanic(Kernels kernels) {
        Nbd22Host h = host(kernels);
        assertThat(h.server().exitedByPanic()).isFalse();
        h.kernel().panic("test: the watchdog proved a deadlock");
        dev.reclaimlab.testkit.Await.until(() -> h.server().exitReason() != null, "nbd-server exits in the panic",
                java.time.Duration.ofSeconds(10));
        assertThat(h.server().exitReason()).isEqualTo("kernel panic");
        assertThat(h.server().exitedByPanic()).isTrue();
    }
}
