package dev.reclaimlab.scenario;

import dev.reclaimlab.block.QueuedDisk;
import dev.reclaimlab.fs.xfs.Xfs;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.nfs.NfsClient;
import dev.reclaimlab.nfsd.Nfsd;

/**
 * The stack seeds 000 and 003 run on (Linux 3.14), built in one place for the scenario and its tests: an XFS
 * on a disk ({@code sda}, a RAM disk's storage served at a bandwidth), exported by nfsd with {@code threads}
 * threads, and mounted over loop-back by the NFS client (mount -t nfs 127.0.0.1:/ /mnt), with rsize and
 * wsize the server's nfsd_max_blksize.
 */
public record NfsLoopStack(QueuedDisk disk, Xfs xfs, Nfsd nfsd, NfsClient nfs) {

    /** The disk under the exported XFS: {@code bytesPerSecond} of bandwidth ({@link QueuedDisk}). */
    public static NfsLoopStack build(Kernel k, long diskBytes, long bytesPerSecond, int threads) {
        if (k == null) {
            throw new IllegalArgumentException("loop-back NFS stack: no kernel");
        }
        k.currentTask();
        QueuedDisk disk = new QueuedDisk(k, "sda", diskBytes, bytesPerSecond);
        Xfs xfs = Xfs.mount(k, disk);
        Nfsd nfsd = Nfsd.start(k, xfs.vfs(), threads);
        NfsClient nfs = NfsClient.mount(k, nfsd.accept(), nfsd.rootFh(), nfsd.maxBlksize());
        return new NfsLoopStack(disk, xfs, nfsd, nfs);
    }
}
