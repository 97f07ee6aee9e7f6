package dev.reclaimlab.swap;

import dev.reclaimlab.fs.ext2.Ext2File;
import dev.reclaimlab.mm.Gfp22;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * MAP_PRIVATE of a file (2.2.1 mm/memory.c do_no_page(), do_wp_page(); mm/filemap.c filemap_nopage()): a read
 * fault maps the cache page write-protected, a write copies it, and the file never sees the process's bytes.
 */
@Timeout(60)
@ExtendWith(KernelExtension.class)
class PrivateFileMappingTest {
    private static final int PAGE = PhysMem.PAGE_SIZE;

    private static byte[] filled(int value) {
        byte[] b = new byte[PAGE];
        Arrays.fill(b, (byte) value);
        return b;
    }

    @Test
    void aWriteAfterAReadFaultCopiesThePageAndTheFileKeepsItsBytes(Kernels kernels) {
        Local22 w = Local22.boot(kernels, "16m");
        Process22 p = Process22.attach(w.mm(), w.kernel().currentTask());
        Memory22 mem = w.mm().memory();
        Ext2File f = w.fs().create(null, "private");
        assertThat(f.write(filled(7), 0, PAGE, 0)).isEqualTo(PAGE);
        Vma v = mem.mmap(p, PAGE, f, 0, false);
        byte[] got = new byte[PAGE];
        mem.readUser(p, v.start(), got, 0, PAGE);
        assertThat(got).containsOnly((byte) 7);
        long shared = v.pte(0);
        assertThat(shared & Vma.PTE_RW).as("the cache page, write-protected").isZero();

        mem.writeUser(p, v.start(), filled(9), 0, PAGE);
        assertThat(Vma.ptePfn(v.pte(0))).as("do_wp_page() copied it").isNotEqualTo(Vma.ptePfn(shared));
        mem.readUser(p, v.start(), got, 0, PAGE);
        assertThat(got).containsOnly((byte) 9);
        mem.munmap(p, v);
        assertThat(f.read(got, 0, PAGE, 0)).isEqualTo(PAGE);
        assertThat(got).as("munmap() writes no private page back").containsOnly((byte) 7);
        p.exit();
        f.close();
    }

    @Test
    void aPrivateCopyGoesToSwapAndComesBackAsTheProcessLeftIt(Kernels kernels) {
        Local22 w = Local22.boot(kernels, "16m");
        Process22 p = Process22.attach(w.mm(), w.kernel().currentTask());
        Memory22 mem = w.mm().memory();
        Ext2File f = w.fs().create(null, "private");
        assertThat(f.write(filled(7), 0, PAGE, 0)).isEqualTo(PAGE);
        Vma v = mem.mmap(p, PAGE, f, 0, false);
        mem.writeUser(p, v.start(), filled(9), 0, PAGE);
        for (int i = 0; i < 50 && Vma.present(v.pte(0)); i++) {
            w.mm().vmscan().tryToFreePages(Gfp22.GFP_KERNEL);
        }
        assertThat(Vma.present(v.pte(0))).as("swapped out").isFalse();
        assertThat(v.pte(0)).as("to a swap entry, not dropped as a clean file page").isNotZero();
        byte[] got = new byte[PAGE];
        mem.readUser(p, v.start(), got, 0, PAGE);
        assertThat(got).containsOnly((byte) 9);
        assertThat(f.read(got, 0, PAGE, 0)).isEqualTo(PAGE);
        assertThat(got).containsOnly((byte) 7);
        p.exit();
        f.close();
    }

    @Test
    void aPrivateMappingBeyondTheEndOfTheFileReadsZerosWhereASharedOneGetsSigbus(Kernels kernels) {
        Local22 w = Local22.boot(kernels, "16m");
        Process22 p = Process22.attach(w.mm(), w.kernel().currentTask());
        Memory22 mem = w.mm().memory();
        Ext2File f = w.fs().create(null, "short");
        assertThat(f.write(filled(7), 0, 100, 0)).isEqualTo(100);
        // 2.2.1 filemap_nopage(): only a VM_SHARED mapping past the end of the file is SIGBUS.
        Vma priv = mem.mmap(p, 3 * PAGE, f, 0, false);
        byte[] got = new byte[PAGE];
        mem.readUser(p, priv.start() + 2 * PAGE, got, 0, PAGE);
        assertThat(got).containsOnly((byte) 0);
        mem.writeUser(p, priv.start() + PAGE, filled(9), 0, PAGE);
        mem.readUser(p, priv.start() + PAGE, got, 0, PAGE);
        assertThat(got).containsOnly((byte) 9);
        Vma far = mem.mmap(p, PAGE, f, (1L << 32) - 2 * PAGE, false);
        mem.readUser(p, far.start(), got, 0, PAGE);
        assertThat(got).as("a hole far beyond the end").containsOnly((byte) 0);
        Vma shared = mem.mmap(p, 3 * PAGE, f, 0, true);
        assertThatThrownBy(() -> mem.readUser(p, shared.start() + 2 * PAGE, new byte[8], 0, 8))
                .isInstanceOf(UserFault.class).hasMessageContaining("SIGBUS");
        assertThat(f.iSize()).as("the private write did not extend the file").isEqualTo(100);
        mem.munmap(p, priv);
        mem.munmap(p, far);
        mem.munmap(p, shared);
        p.exit();
        f.close();
    }
}
