package dev.reclaimlab.nfs;

import dev.reclaimlab.fs.Dentry;
import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.Inode;
import dev.reclaimlab.fs.SuperBlock;
import dev.reclaimlab.fs.VfsException;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.mm.WritebackControl;
import dev.reclaimlab.scenario.LoopbackNfs;
import dev.reclaimlab.scenario.NfsLoopStack;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.MemoryPressure;
import dev.reclaimlab.watchdog.BlockedTask;
import dev.reclaimlab.watchdog.WatchdogReport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/** The 2014 loop-back NFS deadlock of seeds 000 and 003, set up on purpose on 3.14 and proven by the watchdog. */
@ExtendWith(KernelExtension.class)
@Boot(memory = "64m", version = "3.14", hungTaskTimeoutMillis = 30_000)
class LoopbackDeadlockTest {
    /**
     * The seeds' moment, set up on purpose with one nfsd thread: NFS pages wait UNSTABLE for their COMMIT, the
     * dentry slab has no free object and free memory is at the min watermark (kswapd, which would free some
     * of it first, is not running); a local task takes the exported
     * directory's i_mutex (I_MUTEX_PARENT, as do_unlinkat() and kern_path_create() do); an NFS LOOKUP in that
     * directory sends the only nfsd thread to wait for it; then the local task's __lookup_hash() allocates the
     * dentry with GFP_KERNEL. The 3.14 code does the rest.
     */
    @Test
    @Boot(memory = "64m", version = "3.14", hungTaskTimeoutMillis = 30_000, kswapd = false)
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aLocalIMutexHolderInReclaimAndTheOnlyNfsdThreadDeadlockAndTheWatchdogProvesIt(Kernel k) throws Exception {
        AtomicReference<WatchdogReport> first = new AtomicReference<>();
        CountDownLatch reported = new CountDownLatch(1);
        k.watchdog().addReportListener(r -> {
            if (first.compareAndSet(null, r)) {
                reported.countDown();
            }
        });
        NfsLoopStack s = NfsLoopStack.build(k, 256L << 20, 64L << 20, 1);
        File d = s.xfs().vfs().mkdir("/", "d");
        s.xfs().vfs().close(d);
        unstablePages(k, s, 128);
        Dentry dir = s.xfs().sb().dcache().dLookup(s.xfs().sb().root(), "d");
        CountDownLatch locked = new CountDownLatch(1);
        CountDownLatch nfsdWaits = new CountDownLatch(1);
        Task local = k.kthreadRun("local", self -> {
            dir.inode().inodeLockNested(Inode.I_MUTEX_PARENT);
            locked.countDown();
            awaitQuietly(nfsdWaits);
            s.xfs().sb().dcache().dput(s.xfs().vfs().lookupOneLen(dir, "new-file-of-a-local-task"));
            dir.inode().inodeUnlock();
        });
        locked.await(10, TimeUnit.SECONDS);
        Task looker = k.kthreadRun("nfslookup", self -> {
            try {
                s.nfs().vfs().open("/d/missing");
            } catch (VfsException expected) {
                // ENOENT, if it ever got an answer.
            }
        });
        Task nfsd = s.nfsd().serv().threads().get(0);
        Await.until(() -> {
            dev.reclaimlab.locking.WaitRecord.Snapshot w = nfsd.waitRecord().snapshot();
            return w != null && w.on() == dir.inode().iMutex();
        }, "nfsd to wait for the i_mutex", Duration.ofSeconds(10));
        // No free dentry object on any CPU and memory at min: the next d_alloc() grows the slab in reclaim.
        MemoryPressure.atMinWithNoFreeObject(k, SuperBlock.kmemCacheGet(k.mm(), "dentry", 192));
        nfsdWaits.countDown();
        boolean proven = reported.await(20, TimeUnit.SECONDS);
        assertThat(proven).as("the watchdog proves the deadlock").isTrue();
        WatchdogReport r = first.get();
        assertThat(r.type()).isEqualTo(WatchdogReport.Type.DEADLOCK);
        assertThat(r.taskNames()).containsExactlyInAnyOrder(local.toString(), nfsd.toString());
        BlockedTask l = byName(r, local.toString());
        BlockedTask n = byName(r, nfsd.toString());
        assertThat(l.killable()).as("the reclaimer sleeps TASK_KILLABLE").isTrue();
        assertThat(l.waitsOn()).containsAnyOf("NFS_INO_COMMIT", "RPC_TASK_ACTIVE");
        assertThat(l.stack()).anyMatch(f -> f.contains("nfsReleasePage")).anyMatch(f -> f.contains("dAlloc"));
        assertThat(l.wakers()).containsExactly(nfsd.toString());
        assertThat(n.kind()).isEqualTo("mutex");
        assertThat(n.wakers()).containsExactly(local.toString());
        assertThat(n.stack()).anyMatch(f -> f.contains("nfsd3ProcLookup"));
        // khungtaskd of 3.14 would name nfsd only: the root-cause task sleeps TASK_KILLABLE.
        assertThat(LoopbackNfs.hungTaskWouldReport(n)).isTrue();
        assertThat(LoopbackNfs.hungTaskWouldReport(l)).isFalse();
        assertThat(LoopbackNfs.hungTaskView(r, 120)).contains("INFO: task " + nfsd + " blocked for more than 120 seconds.")
                .doesNotContain("INFO: task " + local);
        assertThat(LoopbackNfs.cycleKind(r)).isEqualTo("i_mutex cycle (holder " + local + " in nfs_release_page);"
                + " nfsd threads: 1 on an i_mutex, 0 in nfs_release_page, of 1");
        // The NFS task whose LOOKUP the nfsd thread serves is stuck behind the cycle, killable.
        assertThat(r.alsoStuck()).anySatisfy(b -> {
            assertThat(b.task()).isEqualTo(looker.toString());
            assertThat(b.killable()).isTrue();
        });
        Await.until(k::panicked, "hung_task_panic to end it", Duration.ofSeconds(10));
    }

    /**
     * The same moment with rpc.nfsd 8: the exported directory changed and the client has seen it, so each
     * stat() of a name in it is a LOOKUP sent by nfs_lookup_revalidate() without the client directory's
     * i_mutex; eight client processes stat()ing eight names put all eight nfsd threads on the i_mutex the
     * local task holds, and its __d_alloc(GFP_KERNEL) in reclaim waits for a COMMIT none of them can take.
     */
    @Test
    @Boot(memory = "64m", version = "3.14", hungTaskTimeoutMillis = 30_000, kswapd = false)
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void eightStatsRevalidatingNamesPinAllEightNfsdThreadsOnTheIMutexOfALocalHolderInReclaim(Kernel k)
            throws Exception {
        AtomicReference<WatchdogReport> first = new AtomicReference<>();
        CountDownLatch reported = new CountDownLatch(1);
        k.watchdog().addReportListener(r -> {
            if (first.compareAndSet(null, r)) {
                reported.countDown();
            }
        });
        int threads = 8;
        NfsLoopStack s = NfsLoopStack.build(k, 256L << 20, 64L << 20, threads);
        s.xfs().vfs().close(s.xfs().vfs().mkdir("/", "d"));
        for (int i = 0; i < threads; i++) {
            s.xfs().vfs().close(s.xfs().vfs().create("/d", "s" + i));
            s.nfs().vfs().stat("/d/s" + i);
        }
        Dentry dir = s.xfs().sb().dcache().dLookup(s.xfs().sb().root(), "d");
        long seen = dir.inode().iMtime();
        int[] n = {0};
        Await.until(() -> {
            s.xfs().vfs().close(s.xfs().vfs().create("/d", "x" + n[0]++));
            return dir.inode().iMtime() != seen;
        }, "the directory's mtime to move", Duration.ofSeconds(10));
        try {
            s.nfs().vfs().stat("/d/missing");
        } catch (VfsException expected) {
            // ENOENT; its reply showed the client that /d changed.
        }
        unstablePages(k, s, 128);
        CountDownLatch locked = new CountDownLatch(1);
        CountDownLatch nfsdWait = new CountDownLatch(1);
        Task local = k.kthreadRun("local", self -> {
            dir.inode().inodeLockNested(Inode.I_MUTEX_PARENT);
            locked.countDown();
            awaitQuietly(nfsdWait);
            s.xfs().sb().dcache().dput(s.xfs().vfs().lookupOneLen(dir, "new-file-of-a-local-task"));
            dir.inode().inodeUnlock();
        });
        locked.await(10, TimeUnit.SECONDS);
        for (int i = 0; i < threads; i++) {
            String path = "/d/s" + i;
            k.kthreadRun("nfsstat" + i, self -> s.nfs().vfs().stat(path));
        }
        Await.until(() -> s.nfsd().serv().threads().stream().allMatch(t -> {
            dev.reclaimlab.locking.WaitRecord.Snapshot w = t.waitRecord().snapshot();
            return w != null && w.on() == dir.inode().iMutex();
        }), "all eight nfsd threads to wait for the i_mutex", Duration.ofSeconds(10));
        MemoryPressure.atMinWithNoFreeObject(k, SuperBlock.kmemCacheGet(k.mm(), "dentry", 192));
        nfsdWait.countDown();
        assertThat(reported.await(20, TimeUnit.SECONDS)).as("the watchdog proves the deadlock").isTrue();
        WatchdogReport r = first.get();
        assertThat(r.type()).isEqualTo(WatchdogReport.Type.DEADLOCK);
        List<BlockedTask> all = r.blockedTasks();
        BlockedTask l = all.stream().filter(t -> t.task().equals(local.toString())).findFirst().orElseThrow();
        assertThat(l.stack()).anyMatch(f -> f.contains("nfsReleasePage")).anyMatch(f -> f.contains("dAlloc"));
        assertThat(all.stream().filter(t -> "nfsd".equals(t.comm()))).hasSize(threads).allSatisfy(t -> {
            assertThat(t.kind()).isEqualTo("mutex");
            assertThat(t.wakers()).containsExactly(local.toString());
            assertThat(t.stack()).anyMatch(f -> f.contains("nfsd3ProcLookup"));
        });
        assertThat(LoopbackNfs.cycleKind(r)).startsWith("i_mutex cycle (holder " + local + " in nfs_release_page)")
                .endsWith("nfsd threads: 8 on an i_mutex, 0 in nfs_release_page, of 8");
        Await.until(k::panicked, "hung_task_panic to end it", Duration.ofSeconds(10));
    }

    private static void awaitQuietly(CountDownLatch l) {
        try {
            l.await(20, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static BlockedTask byName(WatchdogReport r, String name) {
        return r.tasks().stream().filter(t -> t.task().equals(name)).findFirst().orElseThrow();
    }

    /**
     * An NFS file whose first {@code n} pages are written UNSTABLE and wait for a COMMIT. As many pages again
     * have requests but stay locked and clean (as pages being written to do), so nfs_commit_unstable_pages()
     * defers the commit (ncommit is not more than npages / 2) and the flusher leaves them alone. The file stays
     * open; the locked pages are returned.
     */
    static int[] unstablePages(Kernel k, NfsLoopStack s, int n) {
        File f = s.nfs().vfs().create("/", "unstable");
        NfsInode ip = (NfsInode) s.nfs().sb().dcache().dLookup(s.nfs().sb().root(), "unstable").inode();
        int[] held = new int[n];
        for (int i = 0; i < n; i++) {
            int pfn = k.mm().filemap().grabCachePageWriteBegin(ip.mapping(), n + i);
            k.mm().mem().memset(k.mm().pageAddress(pfn), 0, 4096);
            k.mm().filemap().setPageUptodate(pfn);
            s.nfs().write().nfsUpdatepage(ip, pfn, n + i, 4096);
            held[i] = pfn;
        }
        s.nfs().vfs().write(f, 0, new byte[n * 4096]);
        k.mm().writeback().writeCachePages(ip.mapping(), new WritebackControl(WritebackControl.SyncMode.WB_SYNC_NONE,
                false, false, Long.MAX_VALUE));
        Await.until(() -> ip.ncommit() == n, n + " WRITE replies", Duration.ofSeconds(20));
        assertThat(ip.npages()).isEqualTo(2 * n);
        return held;
    }
}
