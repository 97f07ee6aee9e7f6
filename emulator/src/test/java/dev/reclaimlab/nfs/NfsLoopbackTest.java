package dev.reclaimlab.nfs;

import dev.reclaimlab.fs.Dentry;
import dev.reclaimlab.fs.Dirents;
import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.Inode;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.fs.VfsException;
import dev.reclaimlab.fs.xfs.XfsInode;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Completion;
import dev.reclaimlab.locking.WaitRecord;
import dev.reclaimlab.mm.Filemap;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.UserBuffer;
import dev.reclaimlab.mm.VmStatItem;
import dev.reclaimlab.mm.WritebackControl;
import dev.reclaimlab.scenario.NfsLoopStack;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.watchdog.WatchdogReport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** NFS over loop-back on 3.14: data round-trips, unstable pages and their commit, errors from the server. */
@ExtendWith(KernelExtension.class)
@Boot(memory = "64m", version = "3.14", hungTaskTimeoutMillis = 30_000)
class NfsLoopbackTest {
    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void bytesWrittenThroughTheMountReadBackExactlyThroughItAndThroughTheLocalXfs(Kernel k) {
        NfsLoopStack s = NfsLoopStack.build(k, 64L << 20, 64L << 20, 1);
        s.nfs().vfs().mkdir("/", "d").inode();
        byte[] data = bytes(3 * 4096 + 123, 7);
        File f = s.nfs().vfs().create("/d", "f");
        assertThat(s.nfs().vfs().write(f, 0, data)).isEqualTo(data.length);
        s.nfs().vfs().close(f);
        File back = s.nfs().vfs().open("/d/f");
        assertThat(s.nfs().vfs().read(back, 0, data.length + 10)).isEqualTo(data);
        s.nfs().vfs().close(back);
        File local = s.xfs().vfs().open("/d/f");
        assertThat(s.xfs().vfs().read(local, 0, data.length + 10)).isEqualTo(data);
        s.xfs().vfs().close(local);
        assertThat(s.nfs().vfs().readdir("/d")).containsExactly("f");
        s.nfs().vfs().unlink("/d", "f");
        assertThatThrownBy(() -> s.xfs().vfs().open("/d/f")).isInstanceOf(VfsException.class);
    }

    /** getdents64() on the mount: READDIR's entries, each with its fileid (the exported XFS's inode number). */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void getdentsOnTheMountListsTheExportedDirectoryWithTheServersInodeNumbersAcrossCalls(Kernel k) {
        NfsLoopStack s = NfsLoopStack.build(k, 64L << 20, 64L << 20, 1);
        Vfs xv = s.xfs().vfs();
        xv.close(xv.mkdir("/", "d"));
        Map<String, Long> inos = new TreeMap<>();
        for (int i = 0; i < 40; i++) {
            File f = xv.create("/d", "name-" + i);
            inos.put("name-" + i, f.inode().ino());
            xv.close(f);
        }
        File dir = s.nfs().vfs().open("/d");
        Map<String, Long> listed = new LinkedHashMap<>();
        int calls = 0;
        try (UserBuffer buf = new UserBuffer(k.mm(), 4096)) {
            for (int got; (got = s.nfs().vfs().getdents64(dir, buf, 0, 256)) > 0; calls++) {
                for (Dirents.Dirent d : Dirents.parse(buf, 0, got)) {
                    assertThat(listed.put(d.name(), d.ino())).as("listed once: " + d.name()).isNull();
                }
            }
        } finally {
            s.nfs().vfs().close(dir);
        }
        assertThat(calls).as("256 bytes hold 8 records of these names").isGreaterThanOrEqualTo(5);
        assertThat(listed).containsExactlyEntriesOf(inos);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void writebackCoalescesContiguousPagesIntoWsizeWritesAndOnlyALoneWriteWithNothingToCommitIsFileSync(Kernel k) {
        NfsLoopStack s = NfsLoopStack.build(k, 64L << 20, 64L << 20, 1);
        NfsServer srv = s.nfs().server();
        int perWrite = srv.wsize() / 4096;
        assertThat(perWrite).as("wsize on 64 MiB").isEqualTo(4);
        byte[] data = bytes(16 * 4096 + 100, 11);
        File f = s.nfs().vfs().create("/", "c");
        s.nfs().vfs().write(f, 0, data);
        NfsInode ip = (NfsInode) s.nfs().sb().dcache().dLookup(s.nfs().sb().root(), "c").inode();
        long writes = srv.writes();
        long stable = srv.stableWrites();
        WritebackControl all = new WritebackControl(WritebackControl.SyncMode.WB_SYNC_NONE, false, false,
                Long.MAX_VALUE);
        k.mm().writeback().writeCachePages(ip.mapping(), all);
        // 17 pages, the last partial: four WRITEs of wsize and one of 100 bytes, all UNSTABLE (more IO followed).
        assertThat(srv.writes() - writes).isEqualTo(5);
        assertThat(srv.stableWrites() - stable).isZero();
        Await.until(() -> ip.ncommit() == 17, "the five WRITE replies", java.time.Duration.ofSeconds(10));
        s.nfs().vfs().fsync(f);
        assertThat(ip.npages()).isZero();

        s.nfs().vfs().write(f, 4096, bytes(2 * 4096, 12));
        k.mm().writeback().writeCachePages(ip.mapping(), all);
        assertThat(srv.writes() - writes).as("one WRITE for the two pages").isEqualTo(6);
        assertThat(srv.stableWrites() - stable).as("alone, nothing to commit: FLUSH_COND_STABLE is FILE_SYNC")
                .isEqualTo(1);
        Await.until(() -> ip.npages() == 0, "the FILE_SYNC reply drops its requests", java.time.Duration.ofSeconds(10));
        assertThat(ip.ncommit()).isZero();
        s.nfs().vfs().close(f);
        File back = s.xfs().vfs().open("/c");
        byte[] want = data.clone();
        System.arraycopy(bytes(2 * 4096, 12), 0, want, 4096, 2 * 4096);
        assertThat(s.xfs().vfs().read(back, 0, want.length + 10)).isEqualTo(want);
        s.xfs().vfs().close(back);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aReadThroughTheMountComesInByReadaheadInAsyncReadsOfRsizeAndEndsAtEof(Kernel k) {
        NfsLoopStack s = NfsLoopStack.build(k, 64L << 20, 64L << 20, 1);
        NfsServer srv = s.nfs().server();
        byte[] data = bytes(9 * 4096 + 7, 13);
        File local = s.xfs().vfs().create("/", "r");
        s.xfs().vfs().write(local, 0, data);
        s.xfs().vfs().close(local);
        assertThat(s.nfs().sb().bdi().raPages()).as("rpages * NFS_MAX_READAHEAD").isEqualTo(4 * 15);
        File f = s.nfs().vfs().open("/r");
        long reads = srv.reads();
        assertThat(s.nfs().vfs().read(f, 0, 4096)).isEqualTo(java.util.Arrays.copyOf(data, 4096));
        // One page asked at offset 0: an initial window of four pages, one READ of rsize.
        assertThat(srv.reads() - reads).isEqualTo(1);
        int third = k.mm().filemap().findGetPage(((NfsInode) f.inode()).mapping(), 3);
        assertThat(third).as("page 3 came with it").isNotNegative();
        k.mm().filemap().putPage(third);
        // The marker starts the next window, eight pages cut at EOF to six: READs of four and two, the last short.
        assertThat(s.nfs().vfs().read(f, 0, data.length + 100)).isEqualTo(data);
        assertThat(srv.reads() - reads).isEqualTo(3);
        s.nfs().vfs().close(f);
    }

    private static boolean waitsOnPageLock(Task t) {
        return waitsOn(t, "PG_locked");
    }

    private static boolean waitsOn(Task t, String what) {
        WaitRecord.Snapshot w = t.waitRecord().snapshot();
        return w != null && w.describe().contains(what);
    }

    /** A file of the exported XFS holding {@code data}, on disk; its inode (no reference kept). */
    private static Inode localFile(NfsLoopStack s, String name, byte[] data) {
        File local = s.xfs().vfs().create("/", name);
        s.xfs().vfs().write(local, 0, data);
        s.xfs().vfs().fsync(local);
        s.xfs().vfs().close(local);
        Dentry d = s.xfs().sb().dcache().dLookup(s.xfs().sb().root(), name);
        Inode inode = d.inode();
        s.xfs().sb().dcache().dput(d);
        return inode;
    }

    /** A "holder" task runs {@code take}, then holds until the returned completion, then runs {@code give}. */
    private static Completion holdInTask(Kernel k, String what, Runnable take, Runnable give) {
        Completion taken = new Completion(what + " taken");
        Completion release = new Completion("release " + what).expectWaker(k.currentTask());
        k.kthreadRun("holder", self -> {
            take.run();
            taken.complete();
            release.waitForCompletion();
            give.run();
        });
        taken.waitForCompletion();
        return release;
    }

    /** A "reader" task reading through the mount; {@link #bytes()} once {@link #done} completed. */
    private record Reader(Task task, Completion done, AtomicReference<byte[]> got) {
        static Reader start(Kernel k, Supplier<byte[]> read) {
            AtomicReference<byte[]> got = new AtomicReference<>();
            Completion done = new Completion("read done");
            Task t = k.kthreadRun("reader", self -> {
                got.set(read.get());
                done.complete();
            });
            done.expectWaker(t);
            return new Reader(t, done, got);
        }

        byte[] bytes() {
            done.waitForCompletion();
            return got.get();
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aReaderWaitingForAnAsyncReadIsOwedByTheReadAndNotProvenDeadlockedWithItself(Kernel k) {
        NfsLoopStack s = NfsLoopStack.build(k, 64L << 20, 64L << 20, 1);
        byte[] data = bytes(4 * 4096, 17);
        XfsInode xip = (XfsInode) localFile(s, "slow", data);
        // The holder keeps the XFS inode's IOLOCK exclusive, so nfsd's READ (XFS_IOLOCK_SHARED) stays in flight.
        Completion release = holdInTask(k, "xfs iolock", () -> xip.xfsIlock(XfsInode.XFS_IOLOCK_EXCL),
                () -> xip.xfsIunlock(XfsInode.XFS_IOLOCK_EXCL));
        Reader reader = Reader.start(k, () -> {
            File f = s.nfs().vfs().open("/slow");
            byte[] b = s.nfs().vfs().read(f, 0, data.length);
            s.nfs().vfs().close(f);
            return b;
        });
        Task nfsd = s.nfsd().serv().threads().get(0);
        Await.until(() -> waitsOnPageLock(reader.task()) && waitsOn(nfsd, "i_iolock"),
                "the reader waiting for its page under READ, nfsd serving it behind the holder",
                java.time.Duration.ofSeconds(10));
        WaitRecord.Snapshot w = reader.task().waitRecord().snapshot();
        assertThat(w.wakers().toString()).as("owed by the READ's server thread, not by the reader")
                .contains("nfsd").doesNotContain("reader");
        assertThat(k.watchdog().checkHungUninterruptibleTasks())
                .noneMatch(r -> r.type() == WatchdogReport.Type.DEADLOCK);
        release.complete();
        assertThat(reader.bytes()).isEqualTo(data);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aRemoveServedBesideAReadOfTheSameFileEvictsItsInodeOnlyOnceTheReadIsDone(Kernel k) {
        NfsLoopStack s = NfsLoopStack.build(k, 64L << 20, 64L << 20, 2);
        byte[] data = bytes(3 * 4096, 19);
        Inode xip = localFile(s, "gone", data);
        File f = s.nfs().vfs().open("/gone");
        Filemap fm = k.mm().filemap();
        fm.invalidateMappingPages(xip.mapping(), 0);
        long inodes = s.xfs().sb().nrInodes();
        // The holder puts a locked page, not yet read, at index 0 of the XFS file: nfsd's READ waits for its lock.
        int[] page = new int[1];
        Completion release = holdInTask(k, "xfs page", () -> {
            page[0] = k.mm().allocPages(Gfp.GFP_KERNEL, 0);
            assertThat(fm.addToPageCacheLru(page[0], xip.mapping(), 0, Gfp.GFP_KERNEL)).isZero();
        }, () -> {
            fm.unlockPage(page[0]);
            fm.putPage(page[0]);
        });
        Reader reader = Reader.start(k, () -> s.nfs().vfs().read(f, 0, data.length));
        Await.until(() -> s.nfsd().serv().threads().stream().anyMatch(NfsLoopbackTest::waitsOnPageLock),
                "nfsd's READ behind the holder", java.time.Duration.ofSeconds(10));
        // The other nfsd thread serves the REMOVE while the READ holds the file's handle.
        s.nfs().vfs().unlink("/", "gone");
        assertThat(xip.nlink()).isZero();
        assertThat(s.xfs().sb().nrInodes()).as("the READ's handle keeps the unlinked inode").isEqualTo(inodes);
        release.complete();
        assertThat(reader.bytes()).isEqualTo(data);
        Await.until(() -> s.xfs().sb().nrInodes() == inodes - 1, "the READ's fh_put() evicting it",
                java.time.Duration.ofSeconds(10));
        s.nfs().vfs().close(f);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void anUnstableWriteKeepsPagePrivateUntilItsCommitReturns(Kernel k) {
        NfsLoopStack s = NfsLoopStack.build(k, 64L << 20, 64L << 20, 1);
        File f = s.nfs().vfs().create("/", "u");
        s.nfs().vfs().write(f, 0, bytes(16 * 4096, 3));
        NfsInode ip = (NfsInode) s.nfs().sb().dcache().dLookup(s.nfs().sb().root(), "u").inode();
        // Every other page stays dirty (locked here), so the flusher's write_inode leaves the commit alone.
        int[] locked = new int[8];
        for (int i = 0; i < 8; i++) {
            locked[i] = k.mm().filemap().findLockPage(ip.mapping(), 2 * i + 1);
        }
        k.mm().writeback().writeCachePages(ip.mapping(), new dev.reclaimlab.mm.WritebackControl(
                dev.reclaimlab.mm.WritebackControl.SyncMode.WB_SYNC_NONE, false, false, Long.MAX_VALUE));
        dev.reclaimlab.testkit.Await.until(() -> ip.ncommit() == 8, "the 8 WRITE replies",
                java.time.Duration.ofSeconds(10));
        assertThat(ip.npages()).isEqualTo(16);
        assertThat(k.mm().vmstat().get(VmStatItem.NR_UNSTABLE_NFS)).isEqualTo(8);
        assertThat(ip.testBit(NfsInode.NFS_INO_COMMIT)).as("no commit yet").isFalse();
        assertThat(s.nfs().server().client().xprt().slotsInUse()).isZero();
        long before = s.nfs().server().syncCommitsFromReclaim();
        k.mm().tryToFreePages(dev.reclaimlab.mm.Gfp.GFP_KERNEL);
        for (int pfn : locked) {
            k.mm().filemap().unlockPage(pfn);
            k.mm().filemap().putPage(pfn);
        }
        assertThat(s.nfs().server().releasePageCalls()).as("reclaim met the unstable pages").isPositive();
        assertThat(s.nfs().server().syncCommitsFromReclaim()).as("and committed, FLUSH_SYNC").isGreaterThan(before);
        s.nfs().vfs().fsync(f);
        assertThat(ip.npages()).isZero();
        assertThat(k.mm().vmstat().get(VmStatItem.NR_UNSTABLE_NFS)).isZero();
        s.nfs().vfs().close(f);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void writeInodeUnderWbSyncNoneCommitsOnlyOnceMoreThanHalfTheRequestsWaitAndChargesTheCommitToNrToWrite(
            Kernel k) {
        NfsLoopStack s = NfsLoopStack.build(k, 64L << 20, 64L << 20, 1);
        File f = s.nfs().vfs().create("/", "w");
        s.nfs().vfs().write(f, 0, bytes(16 * 4096, 5));
        NfsInode ip = (NfsInode) s.nfs().sb().dcache().dLookup(s.nfs().sb().root(), "w").inode();
        int[] locked = new int[8];
        for (int i = 0; i < 8; i++) {
            locked[i] = k.mm().filemap().findLockPage(ip.mapping(), 2 * i + 1);
        }
        WritebackControl all = new WritebackControl(WritebackControl.SyncMode.WB_SYNC_NONE, false, false,
                Long.MAX_VALUE);
        k.mm().writeback().writeCachePages(ip.mapping(), all);
        dev.reclaimlab.testkit.Await.until(() -> ip.ncommit() == 8, "the 8 WRITE replies",
                java.time.Duration.ofSeconds(10));
        long commits = s.nfs().server().commits.get();
        WritebackControl half = new WritebackControl(WritebackControl.SyncMode.WB_SYNC_NONE, false, true, 1024);
        ip.mapping().aops().writeInode(ip.mapping(), half);
        assertThat(s.nfs().server().commits.get()).as("ncommit 8 <= npages 16 / 2: no COMMIT").isEqualTo(commits);
        assertThat(half.nrToWrite).isEqualTo(1024);
        assertThat(k.mm().writeback().inodeDirty(ip.mapping())).as("out_mark_dirty").isTrue();
        for (int pfn : locked) {
            k.mm().filemap().unlockPage(pfn);
            k.mm().filemap().putPage(pfn);
        }
        k.mm().writeback().writeCachePages(ip.mapping(), all);
        dev.reclaimlab.testkit.Await.until(() -> ip.ncommit() == 16, "the other 8 WRITE replies",
                java.time.Duration.ofSeconds(10));
        WritebackControl most = new WritebackControl(WritebackControl.SyncMode.WB_SYNC_NONE, false, true, 1024);
        ip.mapping().aops().writeInode(ip.mapping(), most);
        assertThat(s.nfs().server().commits.get()).as("16 of 16 wait: one async COMMIT").isEqualTo(commits + 1);
        assertThat(most.nrToWrite).as("the committed requests count as written").isEqualTo(1024 - 16);
        dev.reclaimlab.testkit.Await.until(() -> k.mm().vmstat().get(VmStatItem.NR_UNSTABLE_NFS) == 0,
                "the COMMIT's release", java.time.Duration.ofSeconds(10));
        assertThat(ip.npages()).isZero();
        s.nfs().vfs().close(f);
    }

    /**
     * nfs_lookup_revalidate() (3.14): a cached name is trusted without an RPC until a reply shows its
     * directory's mtime changed (here a LOOKUP reply's dir_attributes); then the next walk through it sends a
     * LOOKUP, without the client directory's i_mutex (held here by the walker itself), and trusts it again;
     * a name the server no longer has is dropped and looked up anew.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aCachedNameIsTrustedUntilItsDirectoryIsSeenToChangeThenRevalidatedByALookupWithoutTheDirectoryLock(
            Kernel k) {
        NfsLoopStack s = NfsLoopStack.build(k, 64L << 20, 64L << 20, 1);
        Vfs local = s.xfs().vfs();
        Vfs nfs = s.nfs().vfs();
        local.close(local.mkdir("/", "d"));
        local.close(local.create("/d", "a"));
        Dentry ld = local.pathLookup("/d");
        Inode localDir = ld.inode();
        s.xfs().sb().dcache().dput(ld);
        assertThat(nfs.stat("/d/a")).isZero();
        long served = s.nfsd().serv().served();
        nfs.stat("/d/a");
        assertThat(s.nfsd().serv().served()).as("a trusted dentry costs no RPC").isEqualTo(served);
        changeOnTheServer(local, localDir, "b");
        nfs.stat("/d/a");
        assertThat(s.nfsd().serv().served()).as("the client has not seen the change yet").isEqualTo(served);
        assertThatThrownBy(() -> nfs.stat("/d/missing")).isInstanceOfSatisfying(VfsException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.ENOENT));
        served = s.nfsd().serv().served();
        Dentry clientDir = nfs.pathLookup("/d");
        clientDir.inode().inodeLock();
        try {
            assertThat(nfs.stat("/d/a")).isZero();
        } finally {
            clientDir.inode().inodeUnlock();
        }
        assertThat(s.nfsd().serv().served()).as("one LOOKUP revalidates it").isEqualTo(served + 1);
        nfs.stat("/d/a");
        assertThat(s.nfsd().serv().served()).as("its verifier was renewed").isEqualTo(served + 1);
        local.unlink("/d", "a");
        changeOnTheServer(local, localDir, "c");
        // A name not looked up before: its LOOKUP's dir_attributes show the change ("/d/missing" is a trusted
        // negative dentry now and would cost no RPC).
        assertThatThrownBy(() -> nfs.stat("/d/missing-2")).isInstanceOf(VfsException.class);
        assertThatThrownBy(() -> nfs.stat("/d/a")).isInstanceOfSatisfying(VfsException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.ENOENT));
        s.nfs().sb().dcache().dput(clientDir);
    }

    /** d_lookup() of {@code name} under {@code dir} in {@code sb}'s dcache, its reference dropped at once. */
    private static Dentry cached(dev.reclaimlab.fs.SuperBlock sb, Dentry dir, String name) {
        Dentry d = sb.dcache().dLookup(dir, name);
        if (d != null) {
            sb.dcache().dput(d);
        }
        return d;
    }

    private static void assertEnoent(Runnable r) {
        assertThatThrownBy(r::run).isInstanceOfSatisfying(VfsException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.ENOENT));
    }

    /**
     * nfs_lookup_revalidate()'s negative branch: a LOOKUP answered ENOENT leaves a negative dentry that
     * answers the name with no RPC until the client sees the directory change; then the VFS drops it and
     * looks again, and nfsd's lookup_one_len() finds its own negative dentry for the name (no __d_alloc()).
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void anAbsentNameIsAnsweredFromANegativeDentryWhileTheDirectorysChangeAttributeIsUnchanged(Kernel k) {
        NfsLoopStack s = NfsLoopStack.build(k, 64L << 20, 64L << 20, 1);
        Vfs local = s.xfs().vfs();
        Vfs nfs = s.nfs().vfs();
        local.close(local.mkdir("/", "d"));
        Dentry ld = local.pathLookup("/d");
        Inode localDir = ld.inode();
        assertEnoent(() -> nfs.stat("/d/missing"));
        long served = s.nfsd().serv().served();
        Dentry clientDir = nfs.pathLookup("/d");
        assertThat(cached(s.nfs().sb(), clientDir, "missing").inode()).as("the client's negative dentry").isNull();
        assertThat(cached(s.xfs().sb(), ld, "missing").inode()).as("nfsd's negative dentry").isNull();
        assertEnoent(() -> nfs.stat("/d/missing"));
        assertThat(s.nfsd().serv().served()).as("a trusted negative dentry costs no RPC").isEqualTo(served);
        changeOnTheServer(local, localDir, "b");
        assertEnoent(() -> nfs.stat("/d/missing"));
        assertThat(s.nfsd().serv().served()).as("the client has not seen the change").isEqualTo(served);
        assertEnoent(() -> nfs.stat("/d/other"));
        assertThat(s.nfsd().serv().served()).as("a new name's LOOKUP shows the change").isEqualTo(served + 1);
        long serverDentries = s.xfs().sb().dcache().nrDentries();
        assertEnoent(() -> nfs.stat("/d/missing"));
        assertThat(s.nfsd().serv().served()).as("the stale negative dentry is looked up again").isEqualTo(served + 2);
        assertThat(s.xfs().sb().dcache().nrDentries()).as("nfsd found its negative dentry").isEqualTo(serverDentries);
        assertEnoent(() -> nfs.stat("/d/missing"));
        assertThat(s.nfsd().serv().served()).as("and the new verifier is trusted").isEqualTo(served + 2);
        s.nfs().sb().dcache().dput(clientDir);
        s.xfs().sb().dcache().dput(ld);
    }

    /**
     * creat() after a miss: nfs_neg_need_reval() trusts the negative dentry for LOOKUP_CREATE, so only the
     * CREATE is sent, and the dentry is instantiated; an O_EXCL create (nfs_is_exclusive_create()) skips the
     * LOOKUP altogether.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aCreateOnANegativeDentrySendsOnlyTheCreateAndAnExclusiveCreateNoLookup(Kernel k) {
        NfsLoopStack s = NfsLoopStack.build(k, 64L << 20, 64L << 20, 1);
        Vfs local = s.xfs().vfs();
        Vfs nfs = s.nfs().vfs();
        local.close(local.mkdir("/", "d"));
        Dentry clientDir = nfs.pathLookup("/d");
        assertEnoent(() -> nfs.stat("/d/x"));
        Dentry negative = cached(s.nfs().sb(), clientDir, "x");
        local.close(local.create("/d", "unseen-change"));
        long served = s.nfsd().serv().served();
        File f = nfs.create("/d", "x");
        assertThat(s.nfsd().serv().served()).as("CREATE only").isEqualTo(served + 1);
        nfs.close(f);
        assertThat(cached(s.nfs().sb(), clientDir, "x")).as("the negative dentry, instantiated").isSameAs(negative);
        assertThat(negative.inode()).isNotNull();
        File dir = nfs.open("/d", File.O_RDONLY);
        served = s.nfsd().serv().served();
        nfs.close(nfs.create(dir, "y"));
        assertThat(s.nfsd().serv().served()).as("CREATE only, no LOOKUP").isEqualTo(served + 1);
        assertThat(cached(s.nfs().sb(), clientDir, "y").inode()).isNotNull();
        assertThatThrownBy(() -> nfs.create(dir, "x")).isInstanceOfSatisfying(VfsException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.EEXIST));
        nfs.close(dir);
        s.nfs().sb().dcache().dput(clientDir);
    }

    /** nfs_unlink() drops the client's dentry before the REMOVE; nfsd's d_delete() leaves its own negative. */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void anUnlinkThroughTheMountFreesTheClientsDentryAndLeavesNfsdsNegative(Kernel k) {
        NfsLoopStack s = NfsLoopStack.build(k, 64L << 20, 64L << 20, 1);
        Vfs local = s.xfs().vfs();
        Vfs nfs = s.nfs().vfs();
        local.close(local.mkdir("/", "d"));
        nfs.close(nfs.create("/d", "f"));
        Dentry clientDir = nfs.pathLookup("/d");
        Dentry ld = local.pathLookup("/d");
        long inodes = s.xfs().sb().nrInodes();
        nfs.unlink("/d", "f");
        assertThat(cached(s.nfs().sb(), clientDir, "f")).isNull();
        assertThat(cached(s.xfs().sb(), ld, "f").inode()).isNull();
        assertThat(s.xfs().sb().nrInodes()).as("the server evicted the inode").isEqualTo(inodes - 1);
        assertEnoent(() -> local.stat("/d/f"));
        s.nfs().sb().dcache().dput(clientDir);
        s.xfs().sb().dcache().dput(ld);
    }

    /** Creates files {@code prefix}0, 1, ... locally until the directory's mtime (a tick's granularity) moves. */
    private static void changeOnTheServer(Vfs local, Inode dir, String prefix) {
        long before = dir.iMtime();
        int[] n = {0};
        Await.until(() -> {
            local.close(local.create("/d", prefix + n[0]++));
            return dir.iMtime() != before;
        }, "the directory's mtime to move", java.time.Duration.ofSeconds(10));
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aServerSideIoErrorReachesTheClientAsAnError(Kernel k) {
        NfsLoopStack s = NfsLoopStack.build(k, 64L << 20, 64L << 20, 1);
        File lf = s.xfs().vfs().create("/", "e");
        s.xfs().vfs().write(lf, 0, bytes(4096, 1));
        s.xfs().vfs().fsync(lf);
        k.mm().filemap().invalidateMappingPages(lf.inode().mapping(), 0);
        s.xfs().vfs().close(lf);
        k.faultInjection().write("fail_make_request/probability", "100");
        k.faultInjection().write("fail_make_request/times", "-1");
        k.faultInjection().setMakeItFail(s.disk().media().name(), true);
        File f = s.nfs().vfs().open("/e");
        assertThatThrownBy(() -> s.nfs().vfs().read(f, 0, 4096)).isInstanceOfSatisfying(VfsException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.EIO));
        s.nfs().vfs().close(f);
    }
}
