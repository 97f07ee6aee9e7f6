package dev.reclaimlab.swap;

import dev.reclaimlab.fs.ext2.Ext2File;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** 2.2's ftruncate() of a mapped file: vmtruncate() takes the truncated pages out of every mapping of it. */
@Timeout(60)
@ExtendWith(KernelExtension.class)
class VmtruncateTest {
    private static final int PAGE = PhysMem.PAGE_SIZE;

    private static byte[] filled(int n, int value) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) value);
        return b;
    }

    @Test
    void aTruncatedPageLeavesEveryMappingAndReadsBackAsAHoleOnceTheFileGrowsAgain(Kernels kernels) {
        Local22 w = Local22.boot(kernels, "16m");
        Process22 p = Process22.attach(w.mm(), w.kernel().currentTask());
        Memory22 mem = w.mm().memory();
        Ext2File f = w.fs().create(null, "mapped");
        assertThat(f.write(filled(4 * PAGE, 7), 0, 4 * PAGE, 0)).isEqualTo(4 * PAGE);
        Vma v = mem.mmap(p, 4 * PAGE, f, 0, true);
        Vma tail = mem.mmap(p, 2 * PAGE, f, 2 * PAGE, true);
        byte[] got = new byte[4 * PAGE];
        mem.readUser(p, v.start(), got, 0, 4 * PAGE);
        mem.readUser(p, tail.start(), got, 0, 2 * PAGE);
        assertThat(p.mm().rss()).as("all six ptes present").isEqualTo(6);

        assertThat(f.ftruncate(PAGE + 100)).isZero();
        assertThat(p.mm().rss()).as("pages 2 and 3 gone from both mappings, 0 and 1 kept").isEqualTo(2);
        assertThat(v.pte(2)).isZero();
        assertThat(v.pte(3)).isZero();
        assertThat(tail.pte(0)).isZero();
        byte[] straddling = new byte[PAGE];
        mem.readUser(p, v.start() + PAGE, straddling, 0, PAGE);
        assertThat(Arrays.copyOf(straddling, 100)).containsOnly((byte) 7);
        assertThat(Arrays.copyOfRange(straddling, 100, PAGE)).as("partial_clear()").containsOnly((byte) 0);

        assertThat(f.ftruncate(4 * PAGE)).isZero();
        byte[] hole = new byte[PAGE];
        mem.readUser(p, v.start() + 3L * PAGE, hole, 0, PAGE);
        assertThat(hole).as("the mapping faults the hole in, not the old page").containsOnly((byte) 0);
        mem.readUser(p, tail.start(), hole, 0, PAGE);
        assertThat(hole).containsOnly((byte) 0);
        p.exit();
        assertThat(f.mapping().iMmap).as("munmap() took the mappings off i_mmap").isEmpty();
        f.close();
    }

    @Test
    void aPrivateCopyOfTheStraddlingPageHasItsTailClearedToo(Kernels kernels) {
        // MAP_PRIVATE: a write fault copies the page (filemap_nopage()'s no_share), the file keeps its bytes.
        Local22 w = Local22.boot(kernels, "16m");
        Process22 p = Process22.attach(w.mm(), w.kernel().currentTask());
        Memory22 mem = w.mm().memory();
        Ext2File f = w.fs().create(null, "private");
        assertThat(f.write(filled(2 * PAGE, 7), 0, 2 * PAGE, 0)).isEqualTo(2 * PAGE);
        Vma v = mem.mmap(p, 2 * PAGE, f, 0, false);
        mem.writeUser(p, v.start(), filled(PAGE, 9), 0, PAGE);
        byte[] file = new byte[PAGE];
        assertThat(f.read(file, 0, PAGE, 0)).isEqualTo(PAGE);
        assertThat(file).as("MAP_PRIVATE: the write went to the process's copy").containsOnly((byte) 7);
        assertThat(f.ftruncate(300)).isZero();
        byte[] got = new byte[PAGE];
        mem.readUser(p, v.start(), got, 0, PAGE);
        assertThat(Arrays.copyOf(got, 300)).as("the process's own copy below the size").containsOnly((byte) 9);
        assertThat(Arrays.copyOfRange(got, 300, PAGE)).as("partial_clear() of the private copy")
                .containsOnly((byte) 0);
        assertThat(v.pte(1)).isZero();
        p.exit();
        f.close();
    }
}
