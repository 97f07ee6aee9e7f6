package dev.reclaimlab.fuzz;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** The short fuzz pass CI runs, and the parent's crash and hang detection shown to work. */
class FuzzTest {

    @Test
    @Timeout(240)
    void aShortPassFindsNoCrashNoHangNoLeakedExceptionAndNoAcceptedBadInput() {
        FuzzOptions o = FuzzOptions.defaults().withCalls(30_000).withSeed(1).withHangSeconds(60);
        Fuzz.Result res = Fuzz.run(o);
        ByteArrayOutputStream report = new ByteArrayOutputStream();
        Fuzz.print(res, o, new PrintStream(report, true, StandardCharsets.UTF_8));
        String text = report.toString(StandardCharsets.UTF_8);
        assertThat(res.died()).as(text).isNull();
        assertThat(res.findings()).as(text).isEmpty();
        for (Outcome bad : Outcome.values()) {
            if (bad.bad()) {
                assertThat(res.count(bad)).as(bad + "\n" + text).isZero();
            }
        }
        assertThat(res.count(Outcome.OK)).isGreaterThan(10_000);
        assertThat(res.count(Outcome.REJECTED)).isGreaterThan(5_000);
        assertThat(res.count(Outcome.ERROR)).as("fault injection made valid calls fail").isPositive();
        assertThat(res.stats().injected).isPositive();
        assertThat(res.integrity()).as(text).isNotEmpty().allSatisfy(i -> assertThat(i).startsWith("OK "));
        assertThat(res.integrity()).anySatisfy(i -> assertThat(i).contains("64 MiB kernel closed with 0 off-heap"));
        // The Linux 2.2 kernel is in the pass: its mappings read back intact, its swap area was given back, and it
        // closed with nothing off-heap.
        assertThat(res.stats().perOp).containsKeys("readUser", "ext2_writeUser", "ext2_readToUser", "mmap_shared");
        assertThat(res.integrity()).anySatisfy(i -> assertThat(i).startsWith("OK 2.2: ").contains("mappings read back"
                + " intact"));
        assertThat(res.integrity()).anySatisfy(i -> assertThat(i).contains("OK 2.2: every swap entry freed"));
        assertThat(res.integrity()).anySatisfy(i -> assertThat(i).contains("12 MiB kernel closed with 0 off-heap"));
        assertThat(res.stats().perOp).containsKeys("queueWorkOn", "flushWork", "drainWorkqueue", "setCpusAllowed");
        assertThat(res.integrity()).anySatisfy(i -> assertThat(i).startsWith("OK workqueues: ")
                .contains("each ran once per queueing"));
        assertThat(res.clean()).isTrue();
        assertThat(res.workDir()).as("a clean run leaves nothing behind").doesNotExist();
        assertThat(text).contains("CLEAN:");
    }

    /**
     * A "bad" gfp the emulator accepts turns a rejected call into a silent success: an add_to_page_cache_lru()
     * the fuzz believes refused left its page locked, and a later valid lock_page() waited for ever. Every
     * bad gfp the fuzz tries must be refused by the allocator itself.
     */
    @Test
    void everyBadGfpTheFuzzTriesIsRefusedByTheAllocator() {
        try (Kernel k = Kernel.boot(KernelConfig.builder().memory("8m").kswapd(false).watchdog(false).build())) {
            assertThat(MmContext.BAD_GFPS).isNotEmpty();
            for (int gfp : MmContext.BAD_GFPS) {
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> k.mm().allocPages(gfp, 0))
                        .as("gfp 0x%x", gfp).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("unknown bits");
            }
        }
    }

    @Test
    @Timeout(120)
    void aJvmCrashInTheChildIsReportedWithTheCallThatCausedIt() {
        Fuzz.Result res = Fuzz.run(FuzzOptions.defaults().withCalls(10_000).withCrashAt(777));
        assertThat(res.died()).isEqualTo(Outcome.CRASH);
        assertThat(res.lastCall()).isNotNull();
        assertThat(res.lastCall().call()).isEqualTo(777);
        assertThat(res.lastCall().description()).startsWith("selftest.crash(");
        assertThat(res.exitCode()).isNotZero();
        assertThat(res.detail()).contains("SIGSEGV");
        assertThat(res.clean()).isFalse();
        assertThat(res.workDir()).as("kept for the person reading the report").exists();
        res.discard();
    }

    @Test
    @Timeout(120)
    void aCallThatNeverReturnsIsReportedAsAHang() {
        Fuzz.Result res = Fuzz.run(FuzzOptions.defaults().withCalls(10_000).withHangAt(500).withHangSeconds(3));
        assertThat(res.died()).isEqualTo(Outcome.HANG);
        assertThat(res.lastCall().call()).isEqualTo(500);
        assertThat(res.lastCall().description()).isEqualTo("selftest.hang(mutex_lock twice)");
        assertThat(res.clean()).isFalse();
        res.discard();
    }

    @Test
    void badArgumentsGetTheUsage() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> FuzzOptions.parse(new String[] {"--calls", "x"}))
                .hasMessageContaining("--calls takes a number").hasMessageContaining("usage: Fuzz");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> FuzzOptions.parse(new String[] {"--what"}))
                .hasMessageContaining("missing value");
        assertThat(FuzzOptions.parse(new String[] {"--calls", "5", "--seed", "9", "--per-op"}))
                .isEqualTo(new FuzzOptions(5, 9, 60, 0, 0, true, null));
    }
}
