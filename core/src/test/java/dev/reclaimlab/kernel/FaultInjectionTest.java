package dev.reclaimlab.kernel;

import dev.reclaimlab.mm.AllocFailure;
import dev.reclaimlab.mm.FailPageAlloc;
import dev.reclaimlab.mm.Failslab;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.KmemCache;
import dev.reclaimlab.mm.Mm;
import dev.reclaimlab.mm.PageAlloc;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;

import static dev.reclaimlab.mm.Gfp.GFP_ATOMIC;
import static dev.reclaimlab.mm.Gfp.GFP_KERNEL;
import static dev.reclaimlab.mm.Gfp.GFP_NOWAIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m", kswapd = false)
class FaultInjectionTest {

    /** Which of {@code n} kmallocs with {@code gfp} failed, freeing the rest. */
    private static boolean[] kmallocs(Mm mm, int n, int gfp) {
        boolean[] failed = new boolean[n];
        for (int i = 0; i < n; i++) {
            long o = mm.kmalloc(64, gfp);
            failed[i] = o == 0;
            mm.kfree(o);
        }
        return failed;
    }

    private static int count(boolean[] b) {
        int n = 0;
        for (boolean x : b) {
            n += x ? 1 : 0;
        }
        return n;
    }

    @Test
    void nothingFailsUntilAProbabilityIsSetAndThenOnceByDefault(Kernel k) {
        Failslab fs = k.faultInjection().failslab();
        assertThat(fs.attr().probability()).isZero();
        assertThat(count(kmallocs(k.mm(), 100, GFP_ATOMIC))).isZero();
        fs.attr().probability(100);
        assertThat(fs.attr().times()).as("FAULT_ATTR_INITIALIZER: times 1").isEqualTo(1);
        boolean[] failed = kmallocs(k.mm(), 10, GFP_ATOMIC);
        assertThat(failed[0]).isTrue();
        assertThat(count(failed)).isEqualTo(1);
        assertThat(fs.attr().times()).isZero();
        assertThat(fs.attr().injected()).isEqualTo(1);
    }

    @Test
    void failslabIgnoresSleepingAllocationsUnlessToldAndNeverFailsNofail(Kernel k) {
        Failslab fs = k.faultInjection().failslab();
        fs.attr().probability(100).times(-1).verbose(0);
        assertThat(count(kmallocs(k.mm(), 20, GFP_KERNEL))).as("ignore-gfp-wait is on by default").isZero();
        assertThat(count(kmallocs(k.mm(), 20, GFP_NOWAIT))).isEqualTo(20);
        fs.ignoreGfpWait(false);
        assertThat(count(kmallocs(k.mm(), 20, GFP_KERNEL))).isEqualTo(20);
        assertThat(count(kmallocs(k.mm(), 20, GFP_KERNEL | Gfp.__GFP_NOFAIL))).isZero();
    }

    @Test
    void intervalTimesAndSpaceShapeTheFailures(Kernel k) {
        Failslab fs = k.faultInjection().failslab();
        fs.attr().probability(100).interval(3).times(-1).verbose(0);
        boolean[] failed = kmallocs(k.mm(), 9, GFP_ATOMIC);
        assertThat(failed).containsExactly(false, false, true, false, false, true, false, false, true);
        fs.attr().interval(1).times(2).space(64 * 3);
        failed = kmallocs(k.mm(), 6, GFP_ATOMIC);
        assertThat(failed).as("192 bytes of space let two 64-byte objects by (it must stay above the size),"
                + " then times 2").containsExactly(false, false, true, true, false, false);
    }

    @Test
    void cacheFilterFailsOnlyCachesMarkedFailslab(Kernel k) {
        Mm mm = k.mm();
        KmemCache marked = mm.kmemCacheCreate("victim", 32, 0, 0);
        KmemCache other = mm.kmemCacheCreate("bystander", 32, 0, 0);
        Failslab fs = k.faultInjection().failslab();
        fs.attr().probability(100).times(-1).verbose(0);
        fs.cacheFilter(true);
        k.faultInjection().write("/sys/kernel/slab/victim/failslab", "1");
        assertThat(marked.failslab()).isTrue();
        assertThat(mm.kmemCacheAlloc(marked, GFP_ATOMIC)).isZero();
        long o = mm.kmemCacheAlloc(other, GFP_ATOMIC);
        assertThat(o).isNotZero();
        mm.kmemCacheFree(other, o);
        assertThat(k.faultInjection().read("/sys/kernel/slab/victim/failslab")).isEqualTo("1");
    }

    @Test
    void taskFilterAndTaskCommAimAtOneTask(Kernel k) throws Exception {
        Mm mm = k.mm();
        Failslab fs = k.faultInjection().failslab();
        fs.attr().probability(100).times(-1).verbose(0).taskFilter(true);
        assertThat(count(kmallocs(mm, 5, GFP_ATOMIC))).as("this task has no make-it-fail").isZero();
        k.faultInjection().write("/proc/" + k.currentTask().pid() + "/make-it-fail", "1");
        assertThat(count(kmallocs(mm, 5, GFP_ATOMIC))).isEqualTo(5);
        k.currentTask().setMakeItFail(false);
        fs.attr().taskFilter(false);
        k.faultInjection().write("failslab/task-comm", "victim0");
        assertThat(count(kmallocs(mm, 5, GFP_ATOMIC))).isZero();
        AtomicReference<boolean[]> inVictim = new AtomicReference<>();
        Task t = k.kthreadRun("victim0", self -> inVictim.set(kmallocs(mm, 5, GFP_ATOMIC)));
        t.thread().join(10_000);
        assertThat(count(inVictim.get())).isEqualTo(5);
        assertThat(k.faultInjection().read("failslab/task-comm")).isEqualTo("victim0");
    }

    @Test
    void failPageAllocSparesOrderZeroAndHighmemByDefaultAndSaysWhy(Kernel k) {
        Mm mm = k.mm();
        FailPageAlloc fpa = k.faultInjection().failPageAlloc();
        fpa.attr().probability(100).times(-1).verbose(1);
        fpa.ignoreGfpWait(false);
        int p0 = mm.allocPages(GFP_KERNEL, 0);
        assertThat(p0).as("min-order 1").isNotNegative();
        mm.freePages(p0, 0);
        assertThat(mm.allocPages(GFP_KERNEL, 1)).isEqualTo(PageAlloc.NULL_PAGE);
        assertThat(AllocFailure.of(k.currentTask()).reason()).isEqualTo(AllocFailure.Reason.FAULT_INJECTION);
        int hi = mm.allocPages(Gfp.GFP_HIGHUSER, 2);
        assertThat(hi).as("ignore-gfp-highmem").isNotNegative();
        mm.freePages(hi, 2);
        k.faultInjection().write("/sys/kernel/debug/fail_page_alloc/min-order", "0");
        assertThat(mm.allocPages(GFP_KERNEL, 0)).isEqualTo(PageAlloc.NULL_PAGE);
        assertThat(mm.kmalloc(3 * 4096, GFP_KERNEL)).as("a large kmalloc is a page allocation").isZero();
        assertThat(k.dmesg()).contains("] FAULT_INJECTION: forcing a failure.\n[")
                .contains("] name fail_page_alloc, interval 1, probability 100, space 0, times -1\n");
        assertThat(k.dmesg()).as("verbose 1 prints no stack").doesNotContain("Call Trace:");
        fpa.attr().verbose(2).times(1);
        assertThat(mm.allocPages(GFP_KERNEL, 3)).isEqualTo(PageAlloc.NULL_PAGE);
        assertThat(k.dmesg()).contains("Call Trace:").contains("FaultInjectionTest.failPageAlloc");
    }

    @Test
    void theSameSeedFailsTheSameCalls(Kernels kernels) {
        List<boolean[]> runs = new ArrayList<>();
        for (int run = 0; run < 2; run++) {
            Kernel k = kernels.boot(b -> b.kswapd(false));
            k.faultInjection().failslab().attr().probability(30).times(-1).verbose(0);
            k.faultInjection().seed(42);
            runs.add(kmallocs(k.mm(), 200, GFP_ATOMIC));
            k.close();
        }
        assertThat(runs.get(0)).isEqualTo(runs.get(1));
        assertThat(count(runs.get(0))).isBetween(30, 90);
    }

    @Test
    void debugfsFilesReadBackAndRefuseWhatTheyCannotTake(Kernel k) {
        FaultInjection fi = k.faultInjection();
        fi.write("failslab/probability", "25");
        fi.write("/sys/kernel/debug/failslab/interval", "4");
        fi.write("failslab/times", "-1");
        fi.write("failslab/space", "4096");
        fi.write("failslab/verbose", "0");
        fi.write("failslab/ignore-gfp-wait", "N");
        fi.write("fail_page_alloc/ignore-gfp-highmem", "0");
        fi.write("fail_make_request/task-filter", "Y");
        assertThat(fi.read("failslab/probability")).isEqualTo("25");
        assertThat(fi.read("failslab/interval")).isEqualTo("4");
        assertThat(fi.read("failslab/times")).isEqualTo("-1");
        assertThat(fi.read("failslab/space")).isEqualTo("4096");
        assertThat(fi.read("failslab/ignore-gfp-wait")).isEqualTo("N");
        assertThat(fi.read("fail_page_alloc/ignore-gfp-highmem")).isEqualTo("N");
        assertThat(fi.read("fail_page_alloc/min-order")).isEqualTo("1");
        assertThat(fi.read("fail_make_request/task-filter")).isEqualTo("Y");
        fi.failMakeRequest().setup("10,50,0,3");
        assertThat(fi.failMakeRequest().interval()).isEqualTo(10);
        assertThat(fi.failMakeRequest().probability()).isEqualTo(50);
        assertThat(fi.failMakeRequest().times()).isEqualTo(3);
        fi.write("/sys/block/ram0/make-it-fail", "1");
        assertThat(fi.makeItFail("ram0")).isTrue();
        assertThat(fi.read("/sys/block/ram0/make-it-fail")).isEqualTo("1");

        assertThatThrownBy(() -> fi.write("failslab/probability", "101")).hasMessageContaining("[0, 100]");
        assertThatThrownBy(() -> fi.write("failslab/probability", "lots")).hasMessageContaining("-EINVAL");
        assertThatThrownBy(() -> fi.write("failslab/times", "-2")).hasMessageContaining("-1 (no limit)");
        assertThatThrownBy(() -> fi.write("failslab/interval", "0")).hasMessageContaining("positive interval");
        assertThatThrownBy(() -> fi.write("failslab/verbose", "3")).hasMessageContaining("0, 1 or 2");
        assertThatThrownBy(() -> fi.write("failslab/task-filter", "maybe")).hasMessageContaining("not a boolean");
        assertThatThrownBy(() -> fi.write("failslab/nope", "1")).hasMessageContaining("no such file");
        assertThatThrownBy(() -> fi.write("fail_page_alloc/min-order", "12")).hasMessageContaining("min-order");
        assertThatThrownBy(() -> fi.write("/sys/kernel/slab/nosuch/failslab", "1")).hasMessageContaining("no slab cache");
        assertThatThrownBy(() -> fi.write("/proc/999999/make-it-fail", "1")).hasMessageContaining("no task");
        assertThatThrownBy(() -> fi.read("/etc/passwd")).hasMessageContaining("no such fault-injection file");
        assertThatThrownBy(() -> fi.failslab().attr().setup("1,2")).hasMessageContaining("failed to parse");
        assertThatThrownBy(() -> fi.failslab().attr().taskComms("a-comm-longer-than-15")).hasMessageContaining("comm");
        fi.disableAll();
        assertThat(fi.failslab().attr().probability()).isZero();
        assertThat(fi.makeItFail("ram0")).isFalse();
    }

    @Test
    void heavyInjectionLeavesEveryPageAndObjectAccountedFor(Kernel k) {
        Mm mm = k.mm();
        FaultInjection fi = k.faultInjection();
        fi.failslab().ignoreGfpWait(false).attr().probability(20).times(-1).verbose(0);
        fi.failPageAlloc().ignoreGfpWait(false).minOrder(0).attr().probability(20).times(-1).verbose(0);
        fi.seed(7);
        long freeBefore = mm.pageAlloc().nrFreePages() + mm.pageAlloc().pcpPages();
        SplittableRandom r = new SplittableRandom(7);
        List<long[]> live = new ArrayList<>();
        int failures = 0;
        for (int i = 0; i < 20_000; i++) {
            if (live.size() > 200 || (!live.isEmpty() && r.nextInt(3) == 0)) {
                long[] o = live.remove(r.nextInt(live.size()));
                if (o[0] == 0) {
                    mm.kfree(o[1]);
                } else {
                    mm.freePages((int) o[1], (int) o[2]);
                }
                continue;
            }
            if (r.nextBoolean()) {
                long obj = mm.kmalloc(1 + r.nextInt(20_000), GFP_KERNEL);
                if (obj == 0) {
                    failures++;
                } else {
                    live.add(new long[] {0, obj, 0});
                }
            } else {
                int order = r.nextInt(4);
                int pfn = mm.allocPages(GFP_KERNEL, order);
                if (pfn < 0) {
                    failures++;
                } else {
                    live.add(new long[] {1, pfn, order});
                }
            }
        }
        for (long[] o : live) {
            if (o[0] == 0) {
                mm.kfree(o[1]);
            } else {
                mm.freePages((int) o[1], (int) o[2]);
            }
        }
        fi.disableAll();
        assertThat(failures).isGreaterThan(1000);
        // Every failure was injected; a slab allocation may take two injected failures (allocate_slab()'s
        // preferred order, then its minimum order), or fail in neither.
        assertThat(fi.injected()).isGreaterThanOrEqualTo(failures);
        for (KmemCache c : mm.slub().caches()) {
            assertThat(mm.slub().kmemCacheValidate(c)).as(c.name()).isEmpty();
            assertThat(c.activeObjects()).as(c.name()).isZero();
        }
        mm.slub().shrinkAllCaches();
        mm.pageAlloc().drainAllPages();
        assertThat(freeBefore).isEqualTo(mm.pageAlloc().managedPages());
        assertThat(mm.pageAlloc().nrFreePages()).as("every page back").isEqualTo(mm.pageAlloc().managedPages());
        assertThat(mm.pageAlloc().nrFreeBlocks(PageAlloc.MAX_PAGE_ORDER)).as("and coalesced")
                .isEqualTo(mm.pageAlloc().managedPages() >> PageAlloc.MAX_PAGE_ORDER);
        assertThat(mm.pageAlloc().checkFreeArea()).isNull();
    }
}
