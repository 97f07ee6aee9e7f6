package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import static dev.reclaimlab.mm.Gfp.GFP_KERNEL;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m", slubDebug = true)
class SlubDebugTest {

    @Test
    void writePastTheEndIsCaughtOnFreeWithTheOffendingBytes(Kernel k) {
        Mm mm = k.mm();
        long o = mm.kmalloc(60, GFP_KERNEL);
        assertThat(mm.kmallocCaches().ksize(o)).isEqualTo(64);
        mm.mem().putByte(o + 64, (byte) 0x41);
        assertThatThrownBy(() -> mm.kfree(o)).isInstanceOf(SlabError.class)
                .satisfies(e -> assertThat(((SlabError) e).bug()).isEqualTo("Right Redzone overwritten"))
                .hasMessageContaining("BUG kmalloc-64 (Not tainted): Right Redzone overwritten")
                .hasMessageContaining("First byte 0x41 instead of 0xcc")
                .hasMessageContaining(String.format("INFO: Object 0x%x", o))
                .hasMessageContaining("SlubDebugTest")
                .hasMessageContaining("Object not freed".replace("Object", "Object at 0x" + Long.toHexString(o)));
        assertThat(k.dmesg()).contains("Right Redzone overwritten");
    }

    @Test
    void writeBeforeTheStartIsCaughtInTheLeftRedzone(Kernel k) {
        Mm mm = k.mm();
        KmemCache c = mm.kmemCacheCreate("xfs_ili", 40, 0, 0);
        long o = mm.kmemCacheAlloc(c, GFP_KERNEL);
        mm.mem().putByte(o - 1, (byte) 0);
        assertThatThrownBy(() -> mm.kmemCacheFree(c, o)).isInstanceOf(SlabError.class)
                .hasMessageContaining("Left Redzone overwritten");
    }

    @Test
    void writeAfterFreeIsCaughtAsOverwrittenPoison(Kernel k) {
        Mm mm = k.mm();
        KmemCache c = mm.kmemCacheCreate("nfs_commit_data", 128, 0, 0);
        long o = mm.kmemCacheAlloc(c, GFP_KERNEL);
        long other = mm.kmemCacheAlloc(c, GFP_KERNEL);
        mm.kmemCacheFree(c, o);
        assertThat(mm.mem().getByte(o)).as("freed objects are poisoned").isEqualTo((byte) 0x6b);
        assertThat(mm.mem().getByte(o + 127)).isEqualTo((byte) 0xa5);
        mm.mem().putLong(o + 16, 0x1122334455667788L);
        var reports = mm.slub().kmemCacheValidate(c);
        assertThat(reports).hasSize(1);
        assertThat(reports.get(0)).contains("BUG nfs_commit_data (Not tainted): Poison overwritten")
                .contains("instead of 0x6b").contains(String.format("0x%x", o + 16));
        assertThat(mm.slub().kmemCacheValidate(c)).as("validate restored the poison").isEmpty();
        mm.kmemCacheFree(c, other);
    }

    @Test
    void doubleFreeAndWrongCacheAreCaughtInDebugModeToo(Kernel k) {
        Mm mm = k.mm();
        KmemCache a = mm.kmemCacheCreate("inode_cache", 200, 0, 0);
        KmemCache b = mm.kmemCacheCreate("dentry", 200, 0, 0);
        long o = mm.kmemCacheAlloc(a, GFP_KERNEL);
        assertThatThrownBy(() -> mm.kmemCacheFree(b, o)).hasMessageContaining("Wrong slab cache");
        mm.kmemCacheFree(a, o);
        assertThatThrownBy(() -> mm.kmemCacheFree(a, o)).isInstanceOf(SlabError.class)
                .hasMessageContaining("Object already free").hasMessageContaining("Object   ");
        assertThat(mm.slabReports()).anyMatch(r -> r.contains("Object already free"));
    }

    @Test
    void cleanUseReportsNothing(Kernel k) {
        Mm mm = k.mm();
        for (int round = 0; round < 3; round++) {
            long[] objs = new long[500];
            for (int i = 0; i < objs.length; i++) {
                objs[i] = mm.kmalloc(1 + (i * 37) % 3000, GFP_KERNEL);
                mm.mem().memset(objs[i], 0x11, 1 + (i * 37) % 3000);
            }
            for (long o : objs) {
                mm.kfree(o);
            }
        }
        for (KmemCache c : mm.slub().caches()) {
            assertThat(mm.slub().kmemCacheValidate(c)).as(c.name()).isEmpty();
        }
        assertThat(mm.slabReports()).isEmpty();
    }
}
