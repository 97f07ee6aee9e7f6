package dev.reclaimlab.swap;

import dev.reclaimlab.fs.ext2.Ext2File;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.mm.Gfp22;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Bad input to 2.2's user-memory calls is refused up front, as the fuzz found it was not. */
@Timeout(60)
@ExtendWith(KernelExtension.class)
class UserAccessCheckTest {
    private static final int PAGE = PhysMem.PAGE_SIZE;

    @Test
    void copyFromUserRefusesAKernelAddressOutsidePhysMem(Kernels kernels) {
        Local22 w = Local22.boot(kernels, "16m");
        Process22 p = Process22.attach(w.mm(), w.kernel().currentTask());
        Memory22 mem = w.mm().memory();
        Vma v = mem.mmap(p, PAGE, null, 0, false);
        long end = PhysMem.PAGE_OFFSET + w.mm().mem().size();
        assertThatThrownBy(() -> mem.copyFromUser(p, end - 16, v.start(), 64))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("copy_from_user")
                .hasMessageContaining("outside kernel memory");
        assertThatThrownBy(() -> mem.copyToUser(p, v.start(), 0L, 8))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("copy_to_user");
        assertThat(p.mm().rss()).as("refused before faulting anything in").isZero();
        p.exit();
    }

    @Test
    void copyFromUserOfAnUnmappedUserAddressReturnsTheBytesNotCopiedInsteadOfASignal(Kernels kernels) {
        Local22 w = Local22.boot(kernels, "16m");
        Process22 p = Process22.attach(w.mm(), w.kernel().currentTask());
        Memory22 mem = w.mm().memory();
        Vma v = mem.mmap(p, PAGE, null, 0, false);
        int pfn = w.mm().getFreePage(Gfp22.GFP_KERNEL);
        long kbuf = w.mm().mem().pageAddress(pfn);
        assertThat(mem.copyFromUser(p, kbuf, 0x1000, 100)).isEqualTo(100);
        // 16 bytes mapped, then the guard page: 2.2's fixup copies what it can and returns the rest.
        assertThat(mem.copyToUser(p, v.end() - 16, kbuf, 100)).isEqualTo(84);
        w.mm().freePage(pfn);
        p.exit();
    }

    @Test
    void userAccessRefusesANegativeLength(Kernels kernels) {
        Local22 w = Local22.boot(kernels, "16m");
        Process22 p = Process22.attach(w.mm(), w.kernel().currentTask());
        Memory22 mem = w.mm().memory();
        Vma v = mem.mmap(p, PAGE, null, 0, false);
        assertThatThrownBy(() -> mem.access(p, v.start(), -1, true, (k, d, n) -> { }))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("negative length");
        assertThatThrownBy(() -> mem.writeUser(p, v.start(), new byte[16], 0, -5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bad buffer range");
        assertThatThrownBy(() -> mem.readUser(p, v.start(), new byte[16], 8, 16))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bad buffer range");
        p.exit();
    }

    @Test
    void mmapRefusesALengthBeyondTheAddressSpaceAndANegativeOffset(Kernels kernels) {
        Local22 w = Local22.boot(kernels, "16m");
        Process22 p = Process22.attach(w.mm(), w.kernel().currentTask());
        Memory22 mem = w.mm().memory();
        Ext2File f = w.fs().create(null, "f");
        f.write(new byte[PAGE], 0, PAGE, 0);
        assertThatThrownBy(() -> mem.mmap(p, Long.MAX_VALUE - 100, null, 0, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("address space");
        assertThatThrownBy(() -> mem.mmap(p, 1L << 34, null, 0, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("address space");
        assertThatThrownBy(() -> mem.mmap(p, PAGE, f, -PAGE, true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("negative offset");
        assertThat(f.toString()).as("no reference taken").contains("f_count 1");
        f.close();
        p.exit();
    }

    @Test
    void mmapOfAFileRefusesAnOffsetAndLengthPast32BitVmOffset(Kernels kernels) {
        Local22 w = Local22.boot(kernels, "16m");
        Process22 p = Process22.attach(w.mm(), w.kernel().currentTask());
        Memory22 mem = w.mm().memory();
        Ext2File f = w.fs().create(null, "wrap");
        // 2.2's do_mmap(): "offset overflow?" (off + len < off in its 32-bit unsigned long) is -EINVAL.
        assertThatThrownBy(() -> mem.mmap(p, 2 * PAGE, f, (1L << 32) - PAGE, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(f.name())
                .hasMessageContaining("offset overflow");
        assertThatThrownBy(() -> mem.mmap(p, 16 * PAGE, f, (Long.MAX_VALUE & -PAGE) - PAGE, true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("offset overflow");
        assertThat(p.mm().vmas).as("nothing mapped").isEmpty();
        Vma last = mem.mmap(p, PAGE, f, (1L << 32) - 2 * PAGE, false);
        assertThat(last.offset()).isEqualTo((1L << 32) - 2 * PAGE);
        mem.munmap(p, last);
        p.exit();
        f.close();
    }

    @Test
    void munmapRefusesAnotherProcesssMapping(Kernels kernels) {
        Local22 w = Local22.boot(kernels, "16m");
        Process22 p = Process22.attach(w.mm(), w.kernel().currentTask());
        Memory22 mem = w.mm().memory();
        Vma v = mem.mmap(p, PAGE, null, 0, false);
        mem.writeUser(p, v.start(), new byte[] {42}, 0, 1);
        Task t = w.kernel().currentTask();
        Process22 q = Process22.attach(w.mm(), t);
        assertThatThrownBy(() -> mem.munmap(q, v)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("another process's");
        byte[] b = new byte[1];
        mem.readUser(p, v.start(), b, 0, 1);
        assertThat(b[0]).as("the mapping is intact").isEqualTo((byte) 42);
        q.exit();
        p.exit();
    }

    @Test
    void updateVmCacheRefusesASourceOutsideKernelMemoryAndNegativeCounts(Kernels kernels) {
        Local22 w = Local22.boot(kernels, "16m");
        Ext2File f = w.fs().create(null, "f");
        PageCache pc = w.mm().pageCache();
        assertThatThrownBy(() -> pc.updateVmCache(f.mapping(), 0, 0x1234L, 100))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outside kernel memory");
        assertThatThrownBy(() -> pc.updateVmCache(f.mapping(), 0, PhysMem.PAGE_OFFSET, -1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("negative");
        assertThatThrownBy(() -> pc.updateVmCache(f.mapping(), -4096, PhysMem.PAGE_OFFSET, 8))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("negative");
        f.close();
    }
}
