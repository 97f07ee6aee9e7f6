package dev.reclaimlab.scenario;

import dev.reclaimlab.block.RamDisk;
import dev.reclaimlab.fs.xfs.Xfs;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.nfs.NfsClient;
import dev.reclaimlab.nfsd.Nfsd;

/**
 * The stack seeds 000 and 003 run on, built in one place for the scenario and its tests: an XFS on
 * {@code ram0}, exported by nfsd with {@code threads} threads, and mounted over loop-back by the NFS client
 * (mount -t nfs 127.0.0.1:/ /mnt), with rsize and wsize the server's nfsd_max_blksize.
 */
public record NfsLoopStack(RamDisk ram, Xfs xfs, Nfsd nfsd, NfsClient nfs) {

    public static NfsLoopStack build(Kernel k, long ramBytes, int threads) {
        if (k == null) {
            throw new IllegalArgumentException("loop-back NFS stack: no kernel");
        }
        k.currentTask();
        RamDisk ram = new RamDisk(k, 0, ramBytes);
        Xfs xfs = Xfs.mount(k, ram);
        Nfsd nfsd = Nfsd.start(k, xfs.vfs(), threads);
        NfsClient nfs = NfsClient.mount(k, nfsd.accept(), nfsd.rootFh(), nfsd.maxBlksize());
        return new NfsLoopStack(ram, xfs, nfsd, nfs);
    }
}
