package dev.reclaimlab.scenario;

import dev.reclaimlab.block.RamDisk;
import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.fs.xfs.Xfs;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelPanic;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.locking.LockdepReport;
import dev.reclaimlab.locking.LockdepReport.Verdict.Status;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.PageAlloc;
import dev.reclaimlab.mm.ShrinkControl;
import dev.reclaimlab.mm.VmStatItem;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import dev.reclaimlab.watchdog.WatchdogReport;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Seed 002's two sides on a small XFS, for every variant: readdir of a referenced directory reads its block
 * into a new xfs_buf under ILOCK_SHARED, and inode reclaim takes the ILOCK of removed (reclaimable)
 * directories, once from kswapd and once from readdir's own direct reclaim. What lockdep says, and the
 * verdict, per variant; the control's deadlock ends by the watchdog's panic.
 */
@ExtendWith(KernelExtension.class)
@Boot(memory = "32m", kswapd = false, hungTaskTimeoutMillis = 30_000)
class XfsIlockFalsePositiveTest {
    private static final XfsIlockFalsePositive SCENARIO = new XfsIlockFalsePositive();
    private static final String DIR_ILOCK = "&xfs_dir_ilock_class";
    private static final int FILES = 8;
    private static final int REMOVED = 4;

    private static Kernel boot(Kernels kernels, String variant) {
        return kernels.boot(b -> SCENARIO.variant(variant).configure(b.version(SCENARIO.version())));
    }

    /** /a with FILES files, kept open as a shell's cwd would be; REMOVED directories made and removed. */
    private static Xfs tree(Kernel k) {
        Xfs xfs = Xfs.mount(k, new RamDisk(k, 0, 16 << 20));
        Vfs vfs = xfs.vfs();
        vfs.close(vfs.mkdir("/", "a"));
        for (int i = 0; i < FILES; i++) {
            vfs.close(vfs.create("/a", "f" + i));
        }
        for (int i = 0; i < REMOVED; i++) {
            vfs.close(vfs.mkdir("/", "r" + i));
            vfs.rmdir("/", "r" + i);
        }
        assertThat(xfs.nrReclaimableInodes()).isEqualTo(REMOVED);
        // Age every directory buffer out, as the buftarg shrinker does under pressure: a's block is read anew.
        ShrinkControl sc = new ShrinkControl(Gfp.GFP_KERNEL);
        for (int i = 0; i < 4; i++) {
            sc.nrToScan = 1024;
            xfs.bufShrinker().scanObjects(sc);
        }
        assertThat(xfs.nrCachedBufs()).isZero();
        return xfs;
    }

    /** What kswapd's balance_pgdat() does to this superblock: fs_reclaim held, PF_MEMALLOC, the shrinker asked. */
    private static void kswapdShrink(Kernel k, Xfs xfs) {
        Task t = k.currentTask();
        int saved = t.flags();
        t.setFlags(saved | TaskFlags.PF_MEMALLOC | TaskFlags.PF_KSWAPD);
        k.lockdep().kswapdReclaimEnter(t);
        try {
            ShrinkControl sc = new ShrinkControl(Gfp.GFP_KERNEL);
            sc.nrToScan = 1024;
            xfs.sb().shrinker().scanObjects(sc);
        } finally {
            k.lockdep().kswapdReclaimExit(t);
            t.setFlags(saved);
        }
    }

    private static void assertKernelTextThenVerdict(LockdepReport r, String title) {
        String text = r.text();
        int kernel = text.indexOf("WARNING: " + title);
        int verdict = text.indexOf("---- reclaimlab verdict (not kernel output) ----\n" + r.verdict().status());
        assertThat(kernel).as("the kernel's text").isNotNegative();
        assertThat(verdict).as("reclaimlab's verdict after it").isGreaterThan(kernel);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"linux-5.3", "gfp-kernel-buffers", "reclaim-trylock", "reclaimable-ilock-class",
        "gfp-nolockdep", "referenced-reclaim"})
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void readdirAboveReclaimThenKswapdReclaimingDirectoryInodes(String variant, Kernels kernels) {
        Kernel k = boot(kernels, variant);
        Xfs xfs = tree(k);
        File cwd = xfs.vfs().open("/a");
        long allocated = xfs.bufsAllocated();
        assertThat(xfs.vfs().readdir("/a")).hasSize(FILES);
        assertThat(xfs.bufsAllocated()).as("a's block read into a new buffer").isGreaterThan(allocated);
        assertThat(xfs.bufGfp() & Gfp.__GFP_FS).as("buffer memory may enter fs reclaim")
                .isEqualTo(variant.equals("linux-5.3") ? 0 : Gfp.__GFP_FS);
        long reclaimed = xfs.inodesReclaimed();
        kswapdShrink(k, xfs);
        assertThat(xfs.inodesReclaimed() - reclaimed).as("the removed directories were reclaimed")
                .isGreaterThanOrEqualTo(REMOVED);
        List<LockdepReport> reports = k.lockdep().reports();
        switch (variant) {
            case "gfp-kernel-buffers" -> assertThat(reports).singleElement().satisfies(r -> {
                assertThat(r.type()).isEqualTo(LockdepReport.Type.CIRCULAR);
                assertThat(r.comm()).isEqualTo(k.currentTask().comm());
                assertThat(r.acquiring().className()).isEqualTo(DIR_ILOCK);
                assertThat(r.holding().className()).isEqualTo("fs_reclaim");
                assertThat(r.classes()).containsExactly(DIR_ILOCK, "fs_reclaim");
                assertThat(r.chain()).extracting(LockdepReport.ChainEntry::className)
                        .containsExactly("fs_reclaim", DIR_ILOCK);
                assertThat(r.verdict().status()).isEqualTo(Status.UNCONFIRMED);
                assertThat(r.verdict().byWatchdog()).isFalse();
                assertThat(r.verdict().classes()).singleElement().satisfies(c -> {
                    assertThat(c.className()).isEqualTo(DIR_ILOCK);
                    assertThat(c.held()).as("/ and /a, referenced").isEqualTo(2);
                    assertThat(c.taken()).as("the removed directories, evicted").isEqualTo(REMOVED);
                    assertThat(c.both()).isZero();
                    assertThat(c.incomplete()).isFalse();
                });
                assertKernelTextThenVerdict(r, "possible circular locking dependency detected");
            });
            case "referenced-reclaim" -> {
                assertThat(xfs.reclaimLockedReferenced()).as("reclaim locked / and /a").isPositive();
                assertThat(reports).singleElement().satisfies(r -> {
                    assertThat(r.type()).isEqualTo(LockdepReport.Type.CIRCULAR);
                    assertThat(r.verdict().status()).isEqualTo(Status.CONFIRMED);
                    assertThat(r.verdict().byWatchdog()).isFalse();
                    assertThat(r.verdict().classes().get(0).both()).isPositive();
                    assertKernelTextThenVerdict(r, "possible circular locking dependency detected");
                });
            }
            default -> assertThat(reports).as("lockdep stays silent").isEmpty();
        }
        xfs.vfs().close(cwd);
        xfs.umount();
    }

    /**
     * The workload itself, briefly: 5.3 as released runs clean; with GFP_KERNEL buffers lockdep reports
     * within seconds (the first directory inode kswapd reclaims closes the cycle) and every report's verdict
     * at the end of the run is UNCONFIRMED, no ILOCK instance having been used on both sides.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"linux-5.3", "gfp-kernel-buffers"})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aShortRunOfTheWorkloadHasTheVariantsOutcomeAndVerdict(String variant) {
        RunResult r = ScenarioRunner.run(SCENARIO, SCENARIO.variant(variant),
                new RunOptions(variant.equals("linux-5.3") ? 6 : 15, 1, 64L << 20, 10_000, null));
        assertThat(r.errors()).isEmpty();
        assertThat(r.kernelVersion()).isEqualTo("5.3");
        assertThat(r.outcome()).isEqualTo(r.expected());
        if (r.expected() == Outcome.CLEAN) {
            assertThat(r.lockdep()).isEmpty();
            return;
        }
        assertThat(r.lockdep()).isNotEmpty().allSatisfy(l -> {
            assertThat(l.classes()).contains(DIR_ILOCK);
            assertThat(l.verdict().status()).isEqualTo(Status.UNCONFIRMED);
            assertThat(l.verdict().classes()).allSatisfy(c -> {
                assertThat(c.both()).isZero();
                assertThat(c.held()).isPositive();
                assertThat(c.taken()).isPositive();
                assertThat(c.incomplete()).as("every use recorded").isFalse();
            });
        });
        assertThat(r.lockdep()).anySatisfy(l -> assertThat(l.type()).isEqualTo(LockdepReport.Type.CIRCULAR));
    }

    /**
     * The same directories, but reclaim runs in the readdir task itself: memory at the min watermark, a's
     * buffer page allocation enters direct reclaim while a's ILOCK is held. 5.3's GFP_NOFS buffer keeps the
     * superblock shrinker out; with GFP_KERNEL reclaim takes another directory's ILOCK under a's, which lockdep
     * calls recursive locking, __GFP_NOLOCKDEP or not (it hides the allocation, not the acquisition); with
     * the control reclaim takes a's own ILOCK, and readdir waits for itself.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"linux-5.3", "gfp-kernel-buffers", "reclaim-trylock", "reclaimable-ilock-class",
        "gfp-nolockdep", "referenced-reclaim"})
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void readdirsOwnDirectReclaimOfDirectoryInodes(String variant, Kernels kernels) {
        Kernel k = boot(kernels, variant);
        Xfs xfs = tree(k);
        File cwd = xfs.vfs().open("/a");
        AtomicReference<WatchdogReport> report = new AtomicReference<>();
        k.watchdog().addReportListener(r -> report.compareAndSet(null, r));
        List<Integer> held = new ArrayList<>();
        PageAlloc pa = k.mm().pageAlloc();
        pa.drainAllPages();
        for (int pfn; (pfn = k.mm().allocPages(Gfp.GFP_NOWAIT, 0)) != PageAlloc.NULL_PAGE; ) {
            held.add(pfn);
        }
        long stalls = k.mm().vmstat().get(VmStatItem.ALLOCSTALL_NORMAL);
        long reclaimed = xfs.inodesReclaimed();
        AtomicReference<List<String>> names = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(1);
        Task ls = k.kthreadRun("ls", self -> {
            try {
                names.set(xfs.vfs().readdir("/a"));
            } catch (KernelPanic p) {
                throw p;
            } finally {
                done.countDown();
            }
        });
        if (variant.equals("referenced-reclaim")) {
            Await.until(() -> report.get() != null, "the watchdog's report", Duration.ofSeconds(60));
            WatchdogReport w = report.get();
            assertThat(w.type()).isEqualTo(WatchdogReport.Type.DEADLOCK);
            assertThat(w.tasks()).singleElement().satisfies(t -> assertThat(t.task()).isEqualTo(ls.toString()));
            assertThat(w.edges()).singleElement().satisfies(e -> assertThat(e.to()).isEqualTo(ls.toString()));
            assertThat(k.lockdep().reports()).isNotEmpty().allSatisfy(r -> {
                assertThat(r.verdict().status()).isEqualTo(Status.CONFIRMED);
                assertThat(r.verdict().byWatchdog()).isTrue();
            });
            return;
        }
        Await.until(() -> k.mm().vmstat().get(VmStatItem.ALLOCSTALL_NORMAL) > stalls || done.getCount() == 0,
                "readdir's allocation to reach direct reclaim", Duration.ofSeconds(30));
        for (int pfn : held) {
            k.mm().freePages(pfn, 0);
        }
        Await.until(() -> done.getCount() == 0, "readdir to finish", Duration.ofSeconds(30));
        assertThat(names.get()).hasSize(FILES);
        assertThat(report.get()).as("no watchdog report").isNull();
        List<LockdepReport> reports = k.lockdep().reports();
        switch (variant) {
            case "gfp-kernel-buffers", "gfp-nolockdep" -> {
                assertThat(xfs.inodesReclaimed()).as("direct reclaim reclaimed directories").isGreaterThan(reclaimed);
                assertThat(reports).singleElement().satisfies(r -> {
                    assertThat(r.type()).isEqualTo(LockdepReport.Type.RECURSIVE);
                    assertThat(r.comm()).isEqualTo("ls");
                    assertThat(r.holding().className()).isEqualTo(DIR_ILOCK);
                    assertThat(r.holding().read()).as("ILOCK_SHARED").isEqualTo(1);
                    assertThat(r.acquiring().className()).isEqualTo(DIR_ILOCK);
                    assertThat(r.verdict().status()).isEqualTo(Status.UNCONFIRMED);
                    assertKernelTextThenVerdict(r, "possible recursive locking detected");
                });
            }
            case "linux-5.3" -> {
                assertThat(xfs.inodesReclaimed()).as("GFP_NOFS reclaim skips the superblock shrinker")
                        .isEqualTo(reclaimed);
                assertThat(reports).isEmpty();
            }
            default -> assertThat(reports).as("lockdep stays silent").isEmpty();
        }
        xfs.vfs().close(cwd);
        xfs.umount();
    }
}
