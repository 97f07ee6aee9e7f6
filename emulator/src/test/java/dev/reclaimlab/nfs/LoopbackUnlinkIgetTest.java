package dev.reclaimlab.nfs;

import dev.reclaimlab.fs.Dcache;
import dev.reclaimlab.fs.Dentry;
import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.SuperBlock;
import dev.reclaimlab.fs.VfsException;
import dev.reclaimlab.fs.xfs.Xfs;
import dev.reclaimlab.fs.xfs.XfsIcache;
import dev.reclaimlab.fs.xfs.XfsInode;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.KernelStack;
import dev.reclaimlab.locking.Lockable;
import dev.reclaimlab.locking.RwSemaphore;
import dev.reclaimlab.locking.WaitRecord;
import dev.reclaimlab.mm.VmStatItem;
import dev.reclaimlab.scenario.LoopbackNfs;
import dev.reclaimlab.scenario.NfsLoopStack;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.FirstReport;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.MemoryPressure;
import dev.reclaimlab.testkit.Kernels;
import dev.reclaimlab.watchdog.BlockedTask;
import dev.reclaimlab.watchdog.WatchdogReport;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Dave Chinner's objection to RFC 16/19 in seed 000 ("why is it just __d_alloc that needs this fix?"), set up on
 * purpose on 3.14: a local unlink whose name is in neither the dcache nor the XFS inode cache allocates its
 * xfs_inode with GFP_KERNEL under the exported directory's i_mutex, after __d_alloc().
 * <p>
 * Linux 3.14, fs/namei.c do_unlinkat(): mutex_lock_nested(i_mutex, I_MUTEX_PARENT), then lookup_hash() ->
 * __lookup_hash(): lookup_dcache() misses, d_alloc() (RFC 16/19 makes only this NOFS), lookup_real() ->
 * xfs_vn_lookup() -> xfs_lookup() (fs/xfs/xfs_inode.c), which reads the directory under
 * xfs_ilock_data_map_shared(dp) and drops the ILOCK before xfs_iget(); fs/xfs/xfs_icache.c xfs_iget() misses the
 * cache, xfs_iget_cache_miss() -> xfs_inode_alloc(): kmem_zone_alloc(xfs_inode_zone, KM_SLEEP), which
 * kmem_flags_convert() makes GFP_KERNEL outside PF_FSTRANS. With memory at min and no free xfs_inode object the
 * slab's page comes from direct reclaim, which meets an UNSTABLE NFS page: nfs_release_page() -> FLUSH_SYNC
 * COMMIT, owed by nfsd, whose eight threads wait for that i_mutex in LOOKUPs.
 * <p>
 * The test holds the directory's ILOCK to stop the unlink between its d_alloc() and its xfs_iget() while the
 * nfsd threads come to wait on the i_mutex and memory is brought to min; that ILOCK is the one xfs_lookup()
 * takes and drops before xfs_iget(), so the unlink then runs the 3.14 code as it is. The test takes it again
 * behind the unlink's shared hold: in the clean case the unlink next waits at xfs_remove()'s ILOCK, after its
 * xfs_iget() and its reclaim, which is where the counters are read, the nfsd threads still on the i_mutex.
 * <p>
 * Under PF_FSTRANS 3.14 makes this allocation NOFS in XFS's kmem_flags_convert(); the emulator clears __GFP_FS
 * in the page allocator (RFC 04/19's rule, which both variants carry), the same for this allocation.
 */
@ExtendWith(KernelExtension.class)
@Boot(memory = "64m", version = "3.14", hungTaskTimeoutMillis = 30_000, kswapd = false)
class LoopbackUnlinkIgetTest {
    private static final LoopbackNfs SCENARIO = new LoopbackNfs();
    static final int THREADS = 8;
    /** Clean XFS page-cache pages behind the NFS pages on the LRU: what a NOFS reclaim can free. */
    private static final int CLEAN_PAGES = 512;

    /**
     * d-alloc-nofs: the unlink's xfs_iget() reclaims with __GFP_FS into nfs_release_page() and the watchdog proves
     * the seeds' i_mutex cycle. pf-fstrans: the same unlink runs under PF_FSTRANS (the exported directory's
     * i_mutex), so the same reclaim passes the NFS pages by without a COMMIT, frees clean pages and the unlink
     * finishes.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"d-alloc-nofs", "pf-fstrans"})
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void anUnlinksXfsIgetUnderTheExportedDirectorysIMutexReclaimsIntoACommitUnlessTheIMutexIsFstrans(String variant,
            Kernels kernels) throws Exception {
        Kernel k = kernels.boot(b -> SCENARIO.variant(variant).configure(b.version(SCENARIO.version())));
        FirstReport first = FirstReport.listen(k);
        NfsLoopStack s = NfsLoopStack.build(k, 256L << 20, 64L << 20, THREADS);
        Xfs xfs = s.xfs();
        Dcache dcache = xfs.sb().dcache();
        xfs.vfs().close(xfs.vfs().mkdir("/", "d"));
        Dentry dir = dcache.dLookup(xfs.sb().root(), "d");
        XfsInode dp = (XfsInode) dir.inode();
        long victim = evictedVictim(xfs, dir);
        lookupsPendingAndNfsPagesAtTheTail(k, s, dp);
        assertThat(dcache.dLookup(dir, "victim")).as("the victim's dentry is still evicted").isNull();
        assertThat(xfs.peekInode(victim)).as("the victim's inode is still reclaimed").isNull();

        dp.xfsIlock(XfsInode.XFS_ILOCK_EXCL);
        CountDownLatch unlinked = new CountDownLatch(1);
        AtomicReference<RuntimeException> unlinkError = new AtomicReference<>();
        Task local = k.kthreadRun("local", self -> {
            try {
                xfs.vfs().unlink("/d", "victim");
            } catch (RuntimeException e) {
                unlinkError.set(e);
            } finally {
                unlinked.countDown();
            }
        });
        Await.until(() -> waitsForRwsem(local, dp.ilock()),
                "the unlink to reach xfs_lookup()'s ILOCK under the i_mutex", Duration.ofSeconds(10));
        assertThat(dp.iMutex().owner()).isSameAs(local);
        assertThat(KernelStack.of(local.thread())).as("stopped in xfs_lookup(), after its __lookup_hash()'s d_alloc()")
                .anyMatch(f -> f.startsWith("lookup (XfsDir.java:")).anyMatch(f -> isFrame(f, "lookupHash"))
                .noneMatch(f -> isFrame(f, "xfsRemove"));
        CountDownLatch statted = pinNfsdOnTheIMutex(k, s, dp);
        NfsServer server = s.nfs().server();
        long releasePages = server.releasePageCalls();
        long syncCommits = server.syncCommitsFromReclaim();
        long stalls = k.mm().vmstat().get(VmStatItem.ALLOCSTALL_NORMAL);
        atMinWithNoFreeXfsInode(k);
        // The unlink is granted XFS_ILOCK_SHARED at this release; the test's next XFS_ILOCK_EXCL queues behind
        // it and is had once xfs_lookup() dropped it, so the unlink's next stop is xfs_remove()'s ILOCK, after
        // its xfs_iget() and whatever reclaim that took.
        dp.xfsIunlock(XfsInode.XFS_ILOCK_EXCL);
        dp.xfsIlock(XfsInode.XFS_ILOCK_EXCL);

        if (variant.equals("d-alloc-nofs")) {
            dp.xfsIunlock(XfsInode.XFS_ILOCK_EXCL);
            assertThat(first.await(20)).as("the watchdog proves the deadlock").isTrue();
            WatchdogReport r = first.get();
            BlockedTask l = theIMutexCycle(r, local);
            assertThat(l.stack()).as("do_unlinkat -> xfs_iget -> reclaim -> nfs_release_page")
                    .anyMatch(f -> isFrame(f, "remove")).anyMatch(f -> isFrame(f, "lookupHash"))
                    .anyMatch(f -> isFrame(f, "xfsIget")).anyMatch(f -> isFrame(f, "kmemCacheAlloc"))
                    .anyMatch(f -> isFrame(f, "nfsReleasePage")).noneMatch(f -> isFrame(f, "dAlloc"));
            assertThat(server.syncCommitsFromReclaim()).as("the unlink's FLUSH_SYNC COMMIT")
                    .isEqualTo(syncCommits + 1);
            assertThat(LoopbackNfs.cycleKind(r)).isEqualTo("i_mutex cycle (holder " + local + " in nfs_release_page);"
                    + " nfsd threads: 8 on an i_mutex, 0 in nfs_release_page, of 8");
            Await.until(k::panicked, "hung_task_panic to end it", Duration.ofSeconds(10));
            return;
        }
        Await.until(() -> waitsForRwsem(local, dp.ilock()), "the unlink to reach xfs_remove()'s ILOCK",
                Duration.ofSeconds(20));
        assertThat(KernelStack.of(local.thread())).anyMatch(f -> isFrame(f, "xfsRemove"));
        // Only the unlink ran since: the nfsd threads still wait for its i_mutex, kswapd is off.
        assertThat(xfs.peekInode(victim)).as("xfs_iget() missed the cache and allocated the xfs_inode").isNotNull();
        assertThat(k.mm().vmstat().get(VmStatItem.ALLOCSTALL_NORMAL)).as("the unlink entered direct reclaim")
                .isGreaterThan(stalls);
        assertThat(server.releasePageCalls()).as("its reclaim met the NFS pages").isGreaterThan(releasePages);
        assertThat(server.syncCommitsFromReclaim()).as("and sent no COMMIT, under PF_FSTRANS")
                .isEqualTo(syncCommits);
        assertThat(s.nfsd().serv().threads()).allMatch(t -> waitsOn(t, dp.iMutex()));
        dp.xfsIunlock(XfsInode.XFS_ILOCK_EXCL);
        assertThat(unlinked.await(20, TimeUnit.SECONDS)).as("the unlink finishes").isTrue();
        assertThat(unlinkError.get()).as("the unlink succeeds").isNull();
        assertThat(statted.await(20, TimeUnit.SECONDS)).as("the eight stat()s finish").isTrue();
        assertThatThrownBy(() -> xfs.vfs().stat("/d/victim")).isInstanceOfSatisfying(VfsException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.ENOENT));
        assertThat(first.get()).as("no deadlock").isNull();
        assertThat(k.panicked()).isFalse();
    }

    /**
     * /d/victim, created, then its dentry freed (shrink_dcache_parent() of /d, its only child), its inode evicted
     * (prune_icache_sb()) and its xfs_inode reclaimed (xfs_reclaim_inodes_nr()), as the superblock shrinker does
     * under pressure: the unlink's lookup then misses both caches. Returns its inode number.
     */
    private static long evictedVictim(Xfs xfs, Dentry dir) {
        xfs.vfs().close(xfs.vfs().create("/d", "victim"));
        Dcache dcache = xfs.sb().dcache();
        Dentry d = dcache.dLookup(dir, "victim");
        long ino = d.inode().ino();
        dcache.dput(d);
        dcache.shrinkDcacheParent(dir);
        xfs.sb().pruneIcacheSb(Long.MAX_VALUE);
        xfs.freeCachedObjects(xfs.sb(), Long.MAX_VALUE);
        assertThat(dcache.dLookup(dir, "victim")).as("the victim's dentry evicted").isNull();
        assertThat(xfs.peekInode(ino)).as("the victim's xfs_inode reclaimed").isNull();
        return ino;
    }

    /**
     * As in LoopbackDeadlockTest: the client has seen /d change, so each stat() of /d/sN is a LOOKUP; then 128
     * UNSTABLE NFS pages at the LRU's tail and clean XFS pages behind them.
     */
    static void lookupsPendingAndNfsPagesAtTheTail(Kernel k, NfsLoopStack s, XfsInode dp) {
        Xfs xfs = s.xfs();
        for (int i = 0; i < THREADS; i++) {
            xfs.vfs().close(xfs.vfs().create("/d", "s" + i));
            s.nfs().vfs().stat("/d/s" + i);
        }
        long seen = dp.iMtime();
        int[] n = {0};
        Await.until(() -> {
            xfs.vfs().close(xfs.vfs().create("/d", "x" + n[0]++));
            return dp.iMtime() != seen;
        }, "the directory's mtime to move", Duration.ofSeconds(10));
        try {
            s.nfs().vfs().stat("/d/missing");
        } catch (VfsException expected) {
            // ENOENT; its reply showed the client that /d changed.
        }
        LoopbackDeadlockTest.unstablePages(k, s, 128);
        cleanPages(xfs);
    }

    /** An XFS file's pages, written and synced: clean, unmapped, on the LRU after the NFS file's pages. */
    private static void cleanPages(Xfs xfs) {
        File f = xfs.vfs().create("/", "clean");
        xfs.vfs().write(f, 0, new byte[CLEAN_PAGES * 4096]);
        xfs.vfs().fsync(f);
        xfs.vfs().close(f);
    }

    /**
     * Free memory at the min watermark (kswapd is not running) and no free object in the xfs_inode cache on any
     * CPU: the next xfs_inode_alloc() grows the slab through direct reclaim. The pages and objects stay held.
     */
    private static void atMinWithNoFreeXfsInode(Kernel k) {
        MemoryPressure.atMinWithNoFreeObject(k, SuperBlock.kmemCacheGet(k.mm(), "xfs_inode", XfsIcache.XFS_INODE_SIZE));
    }

    /** Eight client stat()s of /d/sN, each a LOOKUP an nfsd thread serves under /d's i_mutex, all waiting for it. */
    static CountDownLatch pinNfsdOnTheIMutex(Kernel k, NfsLoopStack s, XfsInode dp) {
        CountDownLatch statted = new CountDownLatch(THREADS);
        for (int i = 0; i < THREADS; i++) {
            String path = "/d/s" + i;
            k.kthreadRun("nfsstat" + i, self -> {
                s.nfs().vfs().stat(path);
                statted.countDown();
            });
        }
        Await.until(() -> s.nfsd().serv().threads().stream().allMatch(t -> waitsOn(t, dp.iMutex())),
                "all eight nfsd threads to wait for the i_mutex", Duration.ofSeconds(10));
        return statted;
    }

    /**
     * The parsed proof of the seeds' i_mutex cycle: {@code local} asleep TASK_KILLABLE for a COMMIT only nfsd
     * threads can serve, and all eight nfsd threads on the mutex it holds, in LOOKUPs. Returns the holder's entry.
     */
    static BlockedTask theIMutexCycle(WatchdogReport r, Task local) {
        assertThat(r.type()).isEqualTo(WatchdogReport.Type.DEADLOCK);
        List<BlockedTask> all = r.blockedTasks();
        BlockedTask l = all.stream().filter(t -> t.task().equals(local.toString())).findFirst().orElseThrow();
        assertThat(l.killable()).as("the reclaimer sleeps TASK_KILLABLE").isTrue();
        assertThat(l.waitsOn()).containsAnyOf("NFS_INO_COMMIT", "RPC_TASK_ACTIVE");
        assertThat(l.wakers()).isNotEmpty().allMatch(w -> w.startsWith("nfsd:"));
        assertThat(all.stream().filter(t -> "nfsd".equals(t.comm()))).hasSize(THREADS).allSatisfy(t -> {
            assertThat(t.kind()).isEqualTo("mutex");
            assertThat(t.wakers()).containsExactly(local.toString());
            assertThat(t.stack()).anyMatch(f -> isFrame(f, "nfsd3ProcLookup"));
        });
        return l;
    }

    static boolean waitsOn(Task t, Object lock) {
        WaitRecord.Snapshot w = t.waitRecord().snapshot();
        return w != null && w.on() == lock;
    }

    /** A task queued on an rwsem waits on its own waiter, which carries the rwsem's lockdep map. */
    static boolean waitsForRwsem(Task t, RwSemaphore sem) {
        WaitRecord.Snapshot w = t.waitRecord().snapshot();
        return w != null && w.on() instanceof Lockable l && l.depMap() == sem.depMap();
    }

    static boolean isFrame(String frame, String method) {
        return frame.startsWith(method + " ");
    }
}
