package dev.reclaimlab.nfs;

import dev.reclaimlab.mm.BackingDev;
import dev.reclaimlab.mm.BackingDevInfo;
import dev.reclaimlab.sunrpc.RpcClnt;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * struct nfs_server (include/linux/nfs_fs_sb.h, Linux 3.14) of one mount: its RPC client, rsize and wsize,
 * and its own backing_dev_info: pages in WRITE flight (nfss->writeback) and the congestion they set past
 * NFS_CONGESTION_ON_THRESH and clear below the OFF threshold (3/4 of it), with mm/backing-dev.c's
 * set_bdi_congested() / clear_bdi_congested() (core's BackingDev), so reclaim's wait_iff_congested() sees it.
 */
public final class NfsServer {
    private final RpcClnt client;
    private final int rsize;
    private final int wsize;
    private final BackingDevInfo bdi;
    private final BackingDev backingDev;
    private volatile long congestionOnThresh;
    final AtomicLong writeback = new AtomicLong();
    // What reclaim did to this mount's pages, for reports.
    final AtomicLong releasePageCalls = new AtomicLong();
    final AtomicLong commitsFromReclaim = new AtomicLong();
    final AtomicLong syncCommitsFromReclaim = new AtomicLong();
    /** FLUSH_SYNC commits from reclaim by the comm of the task, its digits dropped ("nfsd", "local"). */
    private final Map<String, LongAdder> syncCommitsByComm = new ConcurrentHashMap<>();
    /** nfsd threads inside a FLUSH_SYNC commit from reclaim now, and the most there at once. */
    private final AtomicInteger nfsdInSyncCommit = new AtomicInteger();
    private final AtomicInteger nfsdInSyncCommitMax = new AtomicInteger();
    final AtomicLong releasePageWaits = new AtomicLong();
    final AtomicLong releasePageTimeouts = new AtomicLong();
    final AtomicLong releasePageSkippedCongested = new AtomicLong();
    final AtomicLong commits = new AtomicLong();
    /** READ RPCs sent (nfsstat -c's read). */
    final AtomicLong reads = new AtomicLong();
    /** WRITE RPCs sent (nfsstat -c's write), and those of them sent FILE_SYNC. */
    final AtomicLong writes = new AtomicLong();
    final AtomicLong stableWrites = new AtomicLong();
    /** Bytes the server made stable: COMMITs whose verifier matched, and FILE_SYNC WRITE replies. */
    final AtomicLong committedBytes = new AtomicLong();

    NfsServer(RpcClnt client, int rsize, int wsize, BackingDevInfo bdi, BackingDev backingDev,
            long totalramPages) {
        this.client = client;
        this.rsize = rsize;
        this.wsize = wsize;
        this.bdi = bdi;
        this.backingDev = backingDev;
        // nfs_init_writepagecache(): nfs_congestion_kb = (16 * int_sqrt(totalram_pages)) << (PAGE_SHIFT - 10).
        long kb = Math.min((16L * (long) Math.sqrt(totalramPages)) << 2, 256L * 1024);
        this.congestionOnThresh = kb >> 2;
    }

    public RpcClnt client() {
        return client;
    }

    public int rsize() {
        return rsize;
    }

    public int wsize() {
        return wsize;
    }

    public BackingDevInfo bdi() {
        return bdi;
    }

    /**
     * A write of /proc/sys/fs/nfs/nfs_congestion_kb (3.14: a global sysctl, read by every
     * nfs_set_page_writeback()); this mount's NFS_CONGESTION_ON_THRESH becomes {@code kb} >> 2 pages.
     */
    public void setNfsCongestionKb(long kb) {
        if (kb < 4 || kb > (256L << 20)) {
            throw new IllegalArgumentException("nfs_congestion_kb: " + kb + " KiB is outside [4, 256 GiB]");
        }
        this.congestionOnThresh = kb >> 2;
    }

    /** NFS_CONGESTION_ON_THRESH in pages. */
    public long congestionOnThresh() {
        return congestionOnThresh;
    }

    /** NFS_CONGESTION_OFF_THRESH: ON - ON/4. */
    public long congestionOffThresh() {
        return congestionOnThresh - (congestionOnThresh >> 2);
    }

    /** bdi_write_congested(&nfss->backing_dev_info). */
    public boolean bdiWriteCongested() {
        return bdi.writeCongested();
    }

    /** set_bdi_congested(BLK_RW_ASYNC). */
    void setBdiCongested() {
        backingDev.setBdiCongested(bdi, BackingDev.BLK_RW_ASYNC);
    }

    /** clear_bdi_congested(BLK_RW_ASYNC). */
    void clearBdiCongested() {
        backingDev.clearBdiCongested(bdi, BackingDev.BLK_RW_ASYNC);
    }

    /** Bytes this mount's COMMITs (and stable WRITEs) made safe on the server so far. */
    public long committedBytes() {
        return committedBytes.get();
    }

    /** nfs_release_page() calls on this mount's pages. */
    public long releasePageCalls() {
        return releasePageCalls.get();
    }

    /** COMMITs nfs_release_page() started (any how), and those it waited for (FLUSH_SYNC). */
    public long commitsFromReclaim() {
        return commitsFromReclaim.get();
    }

    public long reads() {
        return reads.get();
    }

    public long writes() {
        return writes.get();
    }

    public long stableWrites() {
        return stableWrites.get();
    }

    public long syncCommitsFromReclaim() {
        return syncCommitsFromReclaim.get();
    }

    void countSyncCommit(String comm) {
        syncCommitsFromReclaim.incrementAndGet();
        int end = comm.length();
        while (end > 0 && Character.isDigit(comm.charAt(end - 1))) {
            end--;
        }
        syncCommitsByComm.computeIfAbsent(comm.substring(0, end), c -> new LongAdder()).increment();
    }

    /** Who sent the FLUSH_SYNC commits from reclaim: comm (digits dropped) to count, in name order. */
    public Map<String, Long> syncCommitsByComm() {
        Map<String, Long> m = new TreeMap<>();
        syncCommitsByComm.forEach((c, n) -> m.put(c, n.sum()));
        return m;
    }

    void nfsdSyncCommitEnter() {
        int now = nfsdInSyncCommit.incrementAndGet();
        nfsdInSyncCommitMax.accumulateAndGet(now, Math::max);
    }

    void nfsdSyncCommitExit() {
        nfsdInSyncCommit.decrementAndGet();
    }

    /**
     * The most nfsd threads that were in a FLUSH_SYNC commit from reclaim at the same time: how near a run came
     * to nfsd's self-deadlock, which closes when all of them are.
     */
    public int nfsdInSyncCommitMax() {
        return nfsdInSyncCommitMax.get();
    }

    /** 3.18's bounded waits on PG_private, those that ran out, and releases skipped as congested. */
    public long releasePageWaits() {
        return releasePageWaits.get();
    }

    public long releasePageTimeouts() {
        return releasePageTimeouts.get();
    }

    public long releasePageSkippedCongested() {
        return releasePageSkippedCongested.get();
    }

    /** COMMIT calls sent. */
    public long commits() {
        return commits.get();
    }
}
