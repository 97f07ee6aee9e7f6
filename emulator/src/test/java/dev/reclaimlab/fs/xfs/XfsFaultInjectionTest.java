package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.block.RamDisk;
import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.fs.VfsException;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.FaultInjection;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.mm.KmemCache;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fault injection through XFS on a RAM disk: every injected failure comes back to the caller as ENOMEM
 * or EIO, nothing hangs, and data outside the range a failed call touched reads back as it was.
 */
@Timeout(120)
@ExtendWith(KernelExtension.class)
@Boot(memory = "32m")
class XfsFaultInjectionTest {
    private static final int FILES = 12;
    private static final int FILE_BYTES = 64 << 10;

    private static byte[] content(long seed, int n) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    @Test
    void aFailedBioEndsWithEioAtSubmissionAndOnlyOnTheDeviceMarked(Kernel k) {
        RamDisk ram = new RamDisk(k, 0, 16 << 20);
        Xfs xfs = Xfs.mount(k, ram);
        Vfs vfs = xfs.vfs();
        File f = vfs.create("/", "f");
        vfs.write(f, 0, content(1, 8192));
        vfs.fsync(f);
        vfs.close(f);
        XfsDataTest.dropCaches(xfs.sb());
        FaultInjection fi = k.faultInjection();
        // Two failures: the readahead's bio, then ->readpage(), which do_generic_file_read() retries a page
        // with after a failed readahead (4.3's page_not_up_to_date -> readpage) before it gives up with EIO.
        fi.failMakeRequest().probability(100).times(2).verbose(0);
        File g = vfs.open("/f");
        assertThat(vfs.read(g, 0, 8192)).as("no device marked make-it-fail").isEqualTo(content(1, 8192));
        vfs.close(g);
        XfsDataTest.dropCaches(xfs.sb());
        File h = vfs.open("/f");
        fi.write("/sys/block/ram0/make-it-fail", "1");
        try {
            vfs.read(h, 0, 4096);
            throw new AssertionError("the read should have failed");
        } catch (VfsException e) {
            assertThat(e.errno()).isEqualTo(Errno.EIO);
        }
        assertThat(fi.failMakeRequest().injected()).isEqualTo(2);
        assertThat(vfs.read(h, 0, 8192)).as("times 2: the retry reads").isEqualTo(content(1, 8192));
        vfs.close(h);
        xfs.umount();
    }

    @Test
    void underHeavyInjectionEveryFailureIsAnErrorAndDataOutsideFailedRangesIsIntact(Kernel k) {
        RamDisk ram = new RamDisk(k, 0, 32 << 20);
        Xfs xfs = Xfs.mount(k, ram);
        Vfs vfs = xfs.vfs();
        Map<Integer, byte[]> expect = new HashMap<>();
        for (int i = 0; i < FILES; i++) {
            File f = vfs.create("/", "f" + i);
            byte[] c = content(100 + i, FILE_BYTES);
            vfs.write(f, 0, c);
            vfs.fsync(f);
            vfs.close(f);
            expect.put(i, c);
        }
        // Pages a failed overwrite may have left in either state: file -> first page index -> page count.
        Map<Integer, TreeMap<Integer, Integer>> uncertain = new HashMap<>();

        FaultInjection fi = k.faultInjection();
        fi.failslab().ignoreGfpWait(false).attr().probability(10).times(-1).verbose(0);
        fi.failPageAlloc().ignoreGfpWait(false).ignoreGfpHighmem(false).minOrder(0).attr().probability(5)
                .times(-1).verbose(0);
        fi.failMakeRequest().probability(10).times(-1).verbose(0);
        fi.setMakeItFail("ram0", true);
        fi.seed(2024);
        SplittableRandom r = new SplittableRandom(2024);
        int errors = 0;
        int ok = 0;
        for (int op = 0; op < 2000; op++) {
            int i = r.nextInt(FILES);
            try {
                File f = vfs.open("/f" + i);
                try {
                    if (r.nextBoolean()) {
                        int page = r.nextInt(FILE_BYTES / 4096);
                        int pages = 1 + r.nextInt(3);
                        int len = Math.min(pages, FILE_BYTES / 4096 - page) * 4096;
                        byte[] data = content(op, len);
                        uncertain.computeIfAbsent(i, x -> new TreeMap<>()).merge(page, len / 4096, Math::max);
                        vfs.write(f, (long) page * 4096, data);
                        if (r.nextInt(4) == 0) {
                            vfs.fsync(f);
                        }
                    } else {
                        int off = r.nextInt(FILE_BYTES);
                        vfs.read(f, off, r.nextInt(1, 3 * 4096));
                    }
                    ok++;
                } finally {
                    vfs.close(f);
                }
            } catch (VfsException e) {
                assertThat(e.errno()).as(e.getMessage()).isIn(Errno.ENOMEM, Errno.EIO);
                errors++;
            }
            if (op % 200 == 0) {
                XfsDataTest.dropCaches(xfs.sb());
            }
        }
        fi.disableAll();
        assertThat(fi.injected()).isGreaterThan(50);
        assertThat(errors).isPositive();
        assertThat(ok).isPositive();

        XfsDataTest.dropCaches(xfs.sb());
        for (int i = 0; i < FILES; i++) {
            File f = vfs.open("/f" + i);
            byte[] got = vfs.read(f, 0, FILE_BYTES);
            vfs.close(f);
            assertThat(got).hasSize(FILE_BYTES);
            byte[] want = expect.get(i);
            TreeMap<Integer, Integer> touched = uncertain.getOrDefault(i, new TreeMap<>());
            for (int page = 0; page < FILE_BYTES / 4096; page++) {
                if (covered(touched, page)) {
                    continue;
                }
                assertThat(Arrays.copyOfRange(got, page * 4096, (page + 1) * 4096)).as("f%d page %d", i, page)
                        .isEqualTo(Arrays.copyOfRange(want, page * 4096, (page + 1) * 4096));
            }
        }
        assertThat(k.oopses()).isEmpty();
        assertThat(xfs.forcedShutdown()).isFalse();
        for (int i = 0; i < FILES; i++) {
            vfs.unlink("/", "f" + i);
        }
        xfs.umount();
        for (KmemCache c : k.mm().slub().caches()) {
            assertThat(k.mm().slub().kmemCacheValidate(c)).as(c.name()).isEmpty();
        }
        k.close();
        assertThat(k.mm().offHeapBytes()).isZero();
        assertThat(ram.nativeBytes()).isZero();
    }

    private static boolean covered(TreeMap<Integer, Integer> touched, int page) {
        for (Map.Entry<Integer, Integer> e : touched.headMap(page, true).entrySet()) {
            if (page < e.getKey() + e.getValue()) {
                return true;
            }
        }
        return false;
    }
}
