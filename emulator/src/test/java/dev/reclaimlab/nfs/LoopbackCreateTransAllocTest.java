package dev.reclaimlab.nfs;

import dev.reclaimlab.fs.Dentry;
import dev.reclaimlab.fs.xfs.Xfs;
import dev.reclaimlab.fs.xfs.XfsInode;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.KernelStack;
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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static dev.reclaimlab.nfs.LoopbackUnlinkIgetTest.THREADS;
import static dev.reclaimlab.nfs.LoopbackUnlinkIgetTest.isFrame;
import static dev.reclaimlab.nfs.LoopbackUnlinkIgetTest.waitsForRwsem;
import static dev.reclaimlab.nfs.LoopbackUnlinkIgetTest.waitsOn;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The create's half of Dave Chinner's objection to RFC 16/19 in seed 000, on 3.14: with __d_alloc() made NOFS,
 * a local create still allocates with GFP_KERNEL under the exported directory's i_mutex, for its transaction.
 * <p>
 * Linux 3.14, fs/namei.c do_last() -> lookup_open() under i_mutex: lookup_dcache() misses, d_alloc() (NOFS under
 * 16/19), xfs_vn_lookup() finds no name; vfs_create() -> xfs_vn_mknod() -> xfs_create() (fs/xfs/xfs_inode.c):
 * xfs_trans_alloc(mp, XFS_TRANS_CREATE) -> _xfs_trans_alloc() (fs/xfs/xfs_trans.c):
 * kmem_zone_zalloc(xfs_trans_zone, KM_SLEEP), GFP_KERNEL, for xfs_trans_reserve() sets PF_FSTRANS only after
 * it. With memory at min and no free xfs_trans object the slab's page comes from direct reclaim, which meets an
 * UNSTABLE NFS page: nfs_release_page() -> FLUSH_SYNC COMMIT, owed by nfsd, whose eight threads wait for that
 * i_mutex in LOOKUPs. Everything the create allocates inside the transaction (the xfs_inode, the directory's
 * buffers) is NOFS.
 * <p>
 * Set up as LoopbackUnlinkIgetTest is: the test holds the directory's ILOCK to stop the create in
 * xfs_lookup() while the nfsd threads queue on the i_mutex and memory is brought to min, then takes it again
 * behind the create's shared hold, so that in the clean case the create's next stop is xfs_create()'s ILOCK,
 * after the handle's allocation and its reclaim.
 */
@ExtendWith(KernelExtension.class)
@Boot(memory = "64m", version = "3.14", hungTaskTimeoutMillis = 30_000, kswapd = false)
class LoopbackCreateTransAllocTest {
    private static final LoopbackNfs SCENARIO = new LoopbackNfs();

    /**
     * d-alloc-nofs: the create's transaction handle reclaims with __GFP_FS into nfs_release_page() and the
     * watchdog proves the seeds' i_mutex cycle. pf-fstrans: the handle is allocated under PF_FSTRANS (the
     * exported directory's i_mutex), so the same reclaim sends no COMMIT, frees clean pages and the create
     * finishes.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"d-alloc-nofs", "pf-fstrans"})
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void aCreatesTransactionHandleUnderTheExportedDirectorysIMutexReclaimsIntoACommitUnlessTheIMutexIsFstrans(
            String variant, Kernels kernels) throws Exception {
        Kernel k = kernels.boot(b -> SCENARIO.variant(variant).configure(b.version(SCENARIO.version())));
        FirstReport first = FirstReport.listen(k);
        NfsLoopStack s = NfsLoopStack.build(k, 256L << 20, 64L << 20, THREADS);
        Xfs xfs = s.xfs();
        xfs.vfs().close(xfs.vfs().mkdir("/", "d"));
        Dentry dir = xfs.sb().dcache().dLookup(xfs.sb().root(), "d");
        XfsInode dp = (XfsInode) dir.inode();
        LoopbackUnlinkIgetTest.lookupsPendingAndNfsPagesAtTheTail(k, s, dp);
        // The server's copies of the NFS pages written back: the flusher has nothing to write, so its
        // xfs_iomap_write_allocate() allocates no handle (GFP_KERNEL in 3.14's writeback too) in the window.
        xfs.vfs().sync();

        dp.xfsIlock(XfsInode.XFS_ILOCK_EXCL);
        CountDownLatch created = new CountDownLatch(1);
        AtomicReference<RuntimeException> createError = new AtomicReference<>();
        Task local = k.kthreadRun("local", self -> {
            try {
                xfs.vfs().close(xfs.vfs().create("/d", "new"));
            } catch (RuntimeException e) {
                createError.set(e);
            } finally {
                created.countDown();
            }
        });
        Await.until(() -> waitsForRwsem(local, dp.ilock()),
                "the create to reach xfs_lookup()'s ILOCK under the i_mutex", Duration.ofSeconds(10));
        assertThat(dp.iMutex().owner()).isSameAs(local);
        assertThat(KernelStack.of(local.thread())).as("stopped in xfs_lookup(), before vfs_create()")
                .anyMatch(f -> f.startsWith("lookup (XfsDir.java:")).noneMatch(f -> isFrame(f, "xfsCreate"));
        CountDownLatch statted = LoopbackUnlinkIgetTest.pinNfsdOnTheIMutex(k, s, dp);
        NfsServer server = s.nfs().server();
        long releasePages = server.releasePageCalls();
        long syncCommits = server.syncCommitsFromReclaim();
        long stalls = k.mm().vmstat().get(VmStatItem.ALLOCSTALL_NORMAL);
        MemoryPressure.atMinWithNoFreeObject(k, xfs.xfsTransZone());
        dp.xfsIunlock(XfsInode.XFS_ILOCK_EXCL);
        dp.xfsIlock(XfsInode.XFS_ILOCK_EXCL);

        if (variant.equals("d-alloc-nofs")) {
            dp.xfsIunlock(XfsInode.XFS_ILOCK_EXCL);
            assertThat(first.await(20)).as("the watchdog proves the deadlock").isTrue();
            WatchdogReport r = first.get();
            BlockedTask l = LoopbackUnlinkIgetTest.theIMutexCycle(r, local);
            assertThat(l.stack()).as("xfs_create -> xfs_trans_alloc -> reclaim -> nfs_release_page")
                    .anyMatch(f -> isFrame(f, "xfsCreate")).anyMatch(f -> isFrame(f, "xfsTransAlloc"))
                    .anyMatch(f -> isFrame(f, "kmemCacheAlloc")).anyMatch(f -> isFrame(f, "nfsReleasePage"))
                    .noneMatch(f -> isFrame(f, "dAlloc")).noneMatch(f -> isFrame(f, "xfsIget"));
            assertThat(server.syncCommitsFromReclaim()).as("the create's FLUSH_SYNC COMMIT").isEqualTo(syncCommits + 1);
            assertThat(server.syncCommitsByComm()).as("counted for its sender").containsKey("local");
            assertThat(server.syncCommitsByComm().values().stream().mapToLong(Long::longValue).sum())
                    .isEqualTo(server.syncCommitsFromReclaim());
            assertThat(LoopbackNfs.cycleKind(r)).isEqualTo("i_mutex cycle (holder " + local + " in nfs_release_page);"
                    + " nfsd threads: 8 on an i_mutex, 0 in nfs_release_page, of 8");
            Await.until(k::panicked, "hung_task_panic to end it", Duration.ofSeconds(10));
            return;
        }
        Await.until(() -> waitsForRwsem(local, dp.ilock()), "the create to reach xfs_create()'s ILOCK",
                Duration.ofSeconds(20));
        assertThat(KernelStack.of(local.thread())).anyMatch(f -> isFrame(f, "xfsCreate"));
        // Only the create ran since: the nfsd threads still wait for its i_mutex, kswapd is off.
        assertThat(k.mm().vmstat().get(VmStatItem.ALLOCSTALL_NORMAL)).as("the handle's allocation reclaimed")
                .isGreaterThan(stalls);
        assertThat(server.releasePageCalls()).as("its reclaim met the NFS pages").isGreaterThan(releasePages);
        assertThat(server.syncCommitsFromReclaim()).as("and sent no COMMIT, under PF_FSTRANS").isEqualTo(syncCommits);
        assertThat(s.nfsd().serv().threads()).allMatch(t -> waitsOn(t, dp.iMutex()));
        dp.xfsIunlock(XfsInode.XFS_ILOCK_EXCL);
        assertThat(created.await(20, TimeUnit.SECONDS)).as("the create finishes").isTrue();
        assertThat(createError.get()).as("the create succeeds").isNull();
        assertThat(statted.await(20, TimeUnit.SECONDS)).as("the eight stat()s finish").isTrue();
        assertThat(xfs.vfs().stat("/d/new")).as("the new file is there, empty").isZero();
        assertThat(first.get()).as("no deadlock").isNull();
        assertThat(k.panicked()).isFalse();
    }
}
