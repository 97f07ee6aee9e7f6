package dev.reclaimlab.nfs;

import dev.reclaimlab.fs.Dcache;
import dev.reclaimlab.fs.Dentry;
import dev.reclaimlab.fs.Dirents;
import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.fs.xfs.Xfs;
import dev.reclaimlab.fs.xfs.XfsInode;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.KernelStack;
import dev.reclaimlab.mm.UserBuffer;
import dev.reclaimlab.mm.VmStatItem;
import dev.reclaimlab.scenario.LoopbackNfs;
import dev.reclaimlab.scenario.NfsLoopStack;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.FirstReport;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import dev.reclaimlab.testkit.MemoryPressure;
import dev.reclaimlab.watchdog.BlockedTask;
import dev.reclaimlab.watchdog.WatchdogReport;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static dev.reclaimlab.nfs.LoopbackUnlinkIgetTest.THREADS;
import static dev.reclaimlab.nfs.LoopbackUnlinkIgetTest.isFrame;
import static dev.reclaimlab.nfs.LoopbackUnlinkIgetTest.waitsForRwsem;
import static dev.reclaimlab.nfs.LoopbackUnlinkIgetTest.waitsOn;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Chinner's "we do GFP_KERNEL memory allocation with the i_mutex held all over the place" (seed 000), at a site
 * with no allocation flag to change: a local `ls` of an exported directory on 3.14. fs/readdir.c iterate_dir()
 * holds the directory's i_mutex while XFS emits the entries, and filldir64() writes each one into the process's
 * buffer with copy_to_user(); the first write to a page of a new process's buffer faults it in with
 * GFP_HIGHUSER_MOVABLE (mm/memory.c do_anonymous_page()). With memory at min the fault reclaims, meets an
 * UNSTABLE NFS page and commits FLUSH_SYNC for nfsd, whose eight threads wait for that i_mutex in LOOKUPs.
 * <p>
 * The test holds the directory's ILOCK to stop the lister inside iterate_dir(), under the i_mutex and before its
 * first record, while the nfsd threads come to wait on the i_mutex and memory is brought to min; XFS's readdir
 * takes that ILOCK for each directory block and drops it before emitting, so the lister then runs as it is.
 * d-alloc-nofs (RFC 16/19 with 04/19 and 06/19) leaves the fault GFP_KERNEL-like and deadlocks as 3.14 does;
 * pf-fstrans (PF_FSTRANS under an exported directory's i_mutex) makes the same reclaim pass the NFS pages by.
 */
@ExtendWith(KernelExtension.class)
@Boot(memory = "64m", version = "3.14", hungTaskTimeoutMillis = 30_000, kswapd = false)
class LoopbackGetdentsFaultTest {
    private static final LoopbackNfs SCENARIO = new LoopbackNfs();
    /** Entries enough for three pages of records. */
    private static final int ENTRIES = 300;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"linux-3.14", "d-alloc-nofs", "pf-fstrans"})
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void aListingsPageFaultUnderTheExportedDirectorysIMutexCommitsForNfsdUnlessTheIMutexIsFstrans(String variant,
            Kernels kernels) throws Exception {
        Kernel k = kernels.boot(b -> SCENARIO.variant(variant).configure(b.version(SCENARIO.version())));
        FirstReport first = FirstReport.listen(k);
        NfsLoopStack s = NfsLoopStack.build(k, 256L << 20, 64L << 20, THREADS);
        Xfs xfs = s.xfs();
        Vfs local = xfs.vfs();
        local.close(local.mkdir("/", "d"));
        for (int i = 0; i < ENTRIES; i++) {
            local.close(local.create("/d", "entry-" + i + "-with-a-name-as-long-as-a-source-file-has"));
        }
        Dcache dcache = xfs.sb().dcache();
        Dentry dir = dcache.dLookup(xfs.sb().root(), "d");
        XfsInode dp = (XfsInode) dir.inode();
        LoopbackUnlinkIgetTest.lookupsPendingAndNfsPagesAtTheTail(k, s, dp);

        dp.xfsIlock(XfsInode.XFS_ILOCK_EXCL);
        CountDownLatch listed = new CountDownLatch(1);
        AtomicReference<Throwable> listError = new AtomicReference<>();
        Set<String> names = new HashSet<>();
        long[] faults = new long[1];
        Task ls = k.kthreadRun("ls", self -> {
            File f = local.open("/d");
            try (UserBuffer buf = new UserBuffer(k.mm(), 32 << 10)) {
                for (int got; (got = local.getdents64(f, buf, 0, 32 << 10)) > 0; ) {
                    Dirents.parse(buf, 0, got).forEach(d -> names.add(d.name()));
                }
                faults[0] = buf.faults();
            } catch (Throwable t) {
                listError.set(t);
            } finally {
                local.close(f);
                listed.countDown();
            }
        });
        Await.until(() -> waitsForRwsem(ls, dp.ilock()), "the listing to reach XFS readdir's ILOCK under the i_mutex",
                Duration.ofSeconds(10));
        assertThat(dp.iMutex().owner()).isSameAs(ls);
        assertThat(KernelStack.of(ls.thread())).anyMatch(f -> isFrame(f, "getdents64"))
                .noneMatch(f -> isFrame(f, "doAnonymousPage"));
        CountDownLatch statted = LoopbackUnlinkIgetTest.pinNfsdOnTheIMutex(k, s, dp);
        NfsServer server = s.nfs().server();
        long releasePages = server.releasePageCalls();
        long syncCommits = server.syncCommitsFromReclaim();
        long stalls = k.mm().vmstat().get(VmStatItem.ALLOCSTALL_NORMAL);
        MemoryPressure.atMin(k);
        dp.xfsIunlock(XfsInode.XFS_ILOCK_EXCL);

        if (!variant.equals("pf-fstrans")) {
            assertThat(first.await(20)).as("the watchdog proves the deadlock").isTrue();
            WatchdogReport r = first.get();
            BlockedTask l = LoopbackUnlinkIgetTest.theIMutexCycle(r, ls);
            assertThat(l.stack()).as("getdents64 -> filldir64 -> fault -> reclaim -> nfs_release_page")
                    .anyMatch(f -> isFrame(f, "getdents64")).anyMatch(f -> isFrame(f, "copyToUser"))
                    .anyMatch(f -> isFrame(f, "doAnonymousPage")).anyMatch(f -> isFrame(f, "nfsReleasePage"));
            assertThat(server.syncCommitsFromReclaim()).as("the fault's FLUSH_SYNC COMMIT").isEqualTo(syncCommits + 1);
            assertThat(LoopbackNfs.cycleKind(r)).isEqualTo("i_mutex cycle (holder " + ls + " in nfs_release_page);"
                    + " nfsd threads: 8 on an i_mutex, 0 in nfs_release_page, of 8");
            Await.until(k::panicked, "hung_task_panic to end it", Duration.ofSeconds(10));
            return;
        }
        assertThat(listed.await(20, TimeUnit.SECONDS)).as("the listing finishes").isTrue();
        assertThat(listError.get()).as("and succeeds").isNull();
        assertThat(names).as("every entry listed").hasSizeGreaterThan(ENTRIES).contains("entry-0-with-a-name-as-long-as-a-source-file-has");
        assertThat(faults[0]).as("its buffer faulted in page by page").isGreaterThanOrEqualTo(4);
        assertThat(k.mm().vmstat().get(VmStatItem.ALLOCSTALL_NORMAL)).as("a fault entered direct reclaim")
                .isGreaterThan(stalls);
        assertThat(server.releasePageCalls()).as("its reclaim met the NFS pages").isGreaterThan(releasePages);
        assertThat(server.syncCommitsFromReclaim()).as("and sent no COMMIT, under PF_FSTRANS").isEqualTo(syncCommits);
        assertThat(statted.await(20, TimeUnit.SECONDS)).as("the eight stat()s finish").isTrue();
        assertThat(s.nfsd().serv().threads()).noneMatch(t -> waitsOn(t, dp.iMutex()));
        assertThat(first.get()).as("no deadlock").isNull();
        assertThat(k.panicked()).isFalse();
    }
}
