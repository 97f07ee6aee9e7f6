package dev.reclaimlab.fuzz;

import dev.reclaimlab.fuzz.Harness.Res;
import dev.reclaimlab.kernel.FaultInjection;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelConfig;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.Mutex;
import dev.reclaimlab.mm.PageAlloc;
import org.agrona.UnsafeApi;

import java.io.PrintStream;
import java.util.SplittableRandom;

/**
 * The fuzz itself, in the child JVM {@link Fuzz} starts: six kernels (mm, filesystems and block, another
 * kernel for foreign objects, one closed at once, one for workqueues and CPUs, and a Linux 2.2 one), calls
 * until the budget is spent, with fault injection on in every other phase, then the integrity checks, then
 * one report on stdout. A self-test can ask for a JVM crash or a hang at a given call, to show the parent
 * catches both.
 */
public final class FuzzChild {
    private static final LockClassKey SELFTEST_KEY = new LockClassKey("fuzz_selftest");

    private final FuzzOptions opts;
    private final FuzzStats stats = new FuzzStats();
    private final Harness h;
    private final SplittableRandom r;

    private FuzzChild(FuzzOptions opts, CallLog log) {
        this.opts = opts;
        this.h = new Harness(log, stats);
        this.r = new SplittableRandom(opts.seed());
    }

    public static void main(String[] args) {
        FuzzOptions opts = FuzzOptions.parse(args);
        CallLog log = CallLog.create(opts.callLog());
        PrintStream out = System.out;
        Thread progress = new Thread(() -> {
            for (;;) {
                out.println("FUZZ-PROGRESS " + log.calls());
                out.flush();
                try {
                    Thread.sleep(250);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "fuzz-progress");
        progress.setDaemon(true);
        progress.start();
        try {
            new FuzzChild(opts, log).run(out);
        } catch (Throwable t) {
            System.err.println("FUZZ-ABORT " + t);
            t.printStackTrace();
            out.println("FUZZ-ABORT " + FuzzStats.oneLine(t.toString()));
            out.flush();
            System.exit(3);
        }
        System.exit(0);
    }

    private void run(PrintStream out) {
        long t0 = System.nanoTime();
        // 4.3's small allocations never fail: once the fuzz holds most of memory, a GFP_NOFS one loops for ever,
        // as the kernel's would ("keep looping as per tradition"). The fuzz checks bad input, not that policy,
        // so its kernels retry as 4.7's should_reclaim_retry() does and fail the allocation with NULL.
        KernelConfig quiet = KernelConfig.builder().kswapd(false).watchdog(false).with(PageAlloc.SHOULD_RECLAIM_RETRY)
                .build();
        Kernel mmK = Kernel.boot(quiet.toBuilder().memory("32m").build());
        Kernel foreign = Kernel.boot(quiet.toBuilder().memory("8m").build());
        Kernel fsK = Kernel.boot(quiet.toBuilder().memory("64m").build());
        Kernel wqK = Kernel.boot(quiet.toBuilder().memory("8m").build());
        Kernel k22 = Kernel.boot(KernelConfig.builder().version(KernelVersion.V2_2).memory("12m").kswapd(false)
                .watchdog(false).build());
        mmK.currentTask();
        foreign.currentTask();
        fsK.currentTask();
        MmFuzz mm = new MmFuzz(h, r.split(), mmK, foreign);
        VfsFuzz vfs = new VfsFuzz(h, r.split(), fsK);
        BlockFuzz block = new BlockFuzz(h, r.split(), fsK);
        ClosedKernelFuzz closed = new ClosedKernelFuzz(h, r.split());
        Linux22Fuzz l22 = new Linux22Fuzz(h, r.split(), k22);
        WorkqueueFuzz wq = new WorkqueueFuzz(h, r.split(), wqK);
        mmK.faultInjection().seed(opts.seed());
        fsK.faultInjection().seed(opts.seed() + 1);
        long phase = Math.max(1000, Math.min(25_000, opts.calls() / 6));
        long lastPhase = -1;
        while (h.calls < opts.calls()) {
            long p = h.calls / phase;
            if (p != lastPhase) {
                lastPhase = p;
                injection(mmK, fsK, p, vfs, block);
            }
            if (opts.crashAt() > 0 && h.calls + 1 >= opts.crashAt()) {
                h.call(null, "selftest.crash", true, "Unsafe.putLong(0, 0)", () -> {
                    UnsafeApi.putLong(0L, 0L);
                    return Res.SUCCESS;
                });
            }
            if (opts.hangAt() > 0 && h.calls + 1 >= opts.hangAt()) {
                Mutex m = new Mutex("fuzz_selftest", SELFTEST_KEY);
                h.call(mmK, "selftest.hang", true, "mutex_lock twice", () -> {
                    m.mutexLock();
                    m.mutexLock();
                    return Res.SUCCESS;
                });
            }
            int w = r.nextInt(100);
            if (w < 40) {
                mm.step();
            } else if (w < 69) {
                vfs.step();
            } else if (w < 77) {
                block.step();
            } else if (w < 81) {
                closed.step();
            } else if (w < 95) {
                l22.step();
            } else if (w < 97) {
                wq.step();
            } else {
                debugfs(r.nextBoolean() ? mmK : fsK);
            }
        }
        for (Kernel k : new Kernel[] {mmK, fsK}) {
            stats.injected += k.faultInjection().injected();
            k.faultInjection().disableAll();
        }
        mmK.currentTask();
        mm.finish(stats);
        fsK.currentTask();
        vfs.finish(stats);
        block.finish(stats);
        stats.integrity(fsK.oopses().isEmpty(), "fs: no oops in a kernel thread"
                + (fsK.oopses().isEmpty() ? "" : ": " + fsK.oopses().get(0)));
        closed.finish(stats);
        l22.finish(stats);
        wq.finish(stats);
        for (Kernel k : new Kernel[] {mmK, fsK, foreign, wqK, k22}) {
            k.close();
            stats.integrity(k.mm().offHeapBytes() == 0, k.config().memoryBytes() / (1 << 20) + " MiB kernel closed with "
                    + k.mm().offHeapBytes() + " off-heap bytes");
        }
        stats.integrity(vfs.ram().nativeBytes() == 0 && block.disk().nativeBytes() == 0
                && l22.swapMedium.nativeBytes() == 0 && l22.diskMedium.nativeBytes() == 0,
                "RAM disks' storage freed at close");
        stats.calls = h.calls;
        stats.nanos = System.nanoTime() - t0;
        stats.write(out);
    }

    /**
     * Even phases inject nothing; odd ones arm failslab and fail_page_alloc on both kernels for every
     * allocation (sleeping ones and order 0 included), and fail_make_request on the raw disk, and in every
     * other odd phase on the filesystem's disk too (a log write that fails makes every later fsync fail).
     */
    private void injection(Kernel mmK, Kernel fsK, long phase, VfsFuzz vfs, BlockFuzz block) {
        boolean on = phase % 2 == 1;
        vfs.injecting(on);
        for (Kernel k : new Kernel[] {mmK, fsK}) {
            FaultInjection fi = k.faultInjection();
            fi.disableAll();
            if (!on) {
                continue;
            }
            fi.failslab().ignoreGfpWait(false).cacheFilter(false).attr().probability(k == mmK ? 3 : 2).interval(1)
                    .times(-1).space(0).verbose(0).taskFilter(false);
            fi.failPageAlloc().ignoreGfpWait(false).ignoreGfpHighmem(false).minOrder(0).attr()
                    .probability(k == mmK ? 2 : 1).interval(1).times(-1).space(0).verbose(0).taskFilter(false);
        }
        if (on) {
            FaultInjection fi = fsK.faultInjection();
            fi.failMakeRequest().probability(3).interval(1).times(-1).space(0).verbose(0).taskFilter(false);
            fi.setMakeItFail(block.disk().name(), true);
            if (phase % 4 == 3) {
                fi.setMakeItFail(vfs.ram().name(), true);
            }
        }
    }

    /** Writes to the fault-injection files: values they take, and values, files and paths they refuse. */
    private void debugfs(Kernel k) {
        boolean valid = r.nextInt(100) < 60;
        String[] dirs = {"failslab", "fail_page_alloc", "fail_make_request"};
        String dir = dirs[r.nextInt(dirs.length)];
        String path;
        String value;
        if (valid) {
            String[][] ok = {{"verbose", "0"}, {"space", Integer.toString(r.nextInt(4096))},
                {"interval", Integer.toString(1 + r.nextInt(3))}, {"times", "-1"},
                {"probability", Integer.toString(r.nextInt(6))}, {"task-filter", "N"}, {"task-comm", ""}};
            String[] kv = ok[r.nextInt(ok.length)];
            path = (r.nextBoolean() ? "/sys/kernel/debug/" : "") + dir + "/" + kv[0];
            value = kv[1];
            if (r.nextInt(4) == 0) {
                path = "/proc/" + k.currentTask().pid() + "/make-it-fail";
                value = "0";
            }
        } else {
            String[][] bad = {{"probability", "101"}, {"probability", "-1"}, {"probability", "lots"},
                {"interval", "0"}, {"times", "-2"}, {"verbose", "3"}, {"task-filter", "maybe"}, {"nosuch", "1"},
                {"task-comm", "a-comm-that-is-too-long"}, {"space", "-5"}};
            String[] kv = bad[r.nextInt(bad.length)];
            path = dir + "/" + kv[0];
            value = kv[1];
            int c = r.nextInt(5);
            if (c == 0) {
                path = "/sys/kernel/debug/nosuch/probability";
            } else if (c == 1) {
                path = "/sys/kernel/slab/nosuch-cache/failslab";
                value = "1";
            } else if (c == 2) {
                path = "/proc/" + (1 << 30) + "/make-it-fail";
                value = "1";
            } else if (c == 3) {
                path = null;
            }
        }
        String p = path;
        String v = value;
        h.call(k, "fault-injection write", valid, p + " = " + v, () -> {
            k.faultInjection().write(p, v);
            return Res.SUCCESS;
        });
    }
}
