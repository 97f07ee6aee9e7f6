package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.fs.SuperBlock;
import dev.reclaimlab.fs.VfsException;
import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.SpinLock;
import dev.reclaimlab.locking.WaitQueue;
import dev.reclaimlab.mm.KmemCache;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * fs/xfs/xfs_icache.c (2015): the mount's in-core inode cache and inode reclaim. The VFS evicts an
 * unused inode and hands it back with destroy_inode(), which only tags it XFS_IRECLAIMABLE; the
 * superblock shrinker then frees reclaimable inodes through {@link #xfsReclaimInodesNr}. A pinned inode
 * cannot be freed: the 2015 reclaim (SYNC_WAIT) forces the log and sleeps until the checkpoint IO
 * unpins it; with {@link #XFS_NONBLOCKING_INODE_RECLAIM} it skips the inode and leaves it for a later pass.
 */
public final class XfsIcache {
    /** Reclaim never waits on a pinned inode: the direction XFS took in later kernels. */
    public static final Fix XFS_NONBLOCKING_INODE_RECLAIM = Fix.declare("xfs_nonblocking_inode_reclaim",
            "inode reclaim from the shrinker skips pinned inodes instead of forcing the log and waiting for"
                    + " the unpin",
            "argued for in the seed 001 thread (reclaim must not wait on log IO); later XFS inode reclaim"
                    + " is non-blocking", null);
    /** sizeof(struct xfs_inode) on x86-64, roughly, with the VFS inode inside. */
    static final int XFS_INODE_SIZE = 960;
    private static final LockClassKey ICI_LOCK_KEY = new LockClassKey("&pag->pag_ici_lock");

    private final Xfs mp;
    private final Kernel kernel;
    private final KmemCache xfsInodeZone;
    private final SpinLock iciLock = new SpinLock("pag_ici_lock", ICI_LOCK_KEY);
    private final Map<Long, XfsInode> icache = new ConcurrentHashMap<>();
    private final LinkedHashSet<XfsInode> reclaimList = new LinkedHashSet<>();
    private final WaitQueue igetWait;
    private volatile long nrReclaimable;
    /** Bumped after every state change an xfs_iget() retry waits for, then igetWait is woken. */
    private final AtomicLong igetGen = new AtomicLong();
    final AtomicLong reclaimed = new AtomicLong();
    final AtomicLong reclaimSkippedPinned = new AtomicLong();
    final AtomicLong reclaimUnpinWaits = new AtomicLong();

    XfsIcache(Xfs mp) {
        this.mp = mp;
        this.kernel = mp.kernel();
        this.xfsInodeZone = SuperBlock.kmemCacheGet(kernel.mm(), "xfs_inode", XFS_INODE_SIZE);
        this.igetWait = new WaitQueue("xfs_iget " + mp.devName());
    }

    /** In-core inodes, in use or reclaimable. */
    long nrInodes() {
        return icache.size();
    }

    /** xfs_reclaim_inodes_count(). */
    long nrReclaimable() {
        return nrReclaimable;
    }

    /** The in-core inode for {@code ino} if one exists, in any state; for tests. */
    XfsInode peek(long ino) {
        return icache.get(ino);
    }

    /**
     * xfs_iget(): a cache hit is referenced, or recycled if it was only waiting for reclaim; a miss
     * allocates an xfs_inode with {@code gfp} and reads the dinode. Null if the inode does not exist.
     */
    XfsInode xfsIget(long ino, int gfp) {
        SuperBlock sb = mp.sb();
        for (;;) {
            long gen = igetGen.get();
            XfsDinode dinode = mp.dinode(ino);
            if (dinode == null) {
                return null;
            }
            XfsInode ip = icache.get(ino);
            if (ip != null) {
                boolean recycle = false;
                boolean busy;
                iciLock.spinLock();
                try {
                    busy = (ip.iFlags & XfsInode.XFS_IRECLAIM) != 0 || icache.get(ino) != ip;
                    if (!busy && (ip.iFlags & XfsInode.XFS_IRECLAIMABLE) != 0) {
                        ip.iFlags &= ~XfsInode.XFS_IRECLAIMABLE;
                        reclaimList.remove(ip);
                        nrReclaimable = reclaimList.size();
                        recycle = true;
                    }
                } finally {
                    iciLock.spinUnlock();
                }
                if (recycle) {
                    ip.recycle(new XfsAops(mp, ip));
                    sb.iNew(ip);
                    igetChanged();
                    return ip;
                }
                if (!busy && sb.igrab(ip)) {
                    return ip;
                }
                // Being evicted, recycled or reclaimed: wait for its next state change (xfs_iget's EAGAIN).
                igetWait.waitEvent(() -> igetGen.get() != gen);
                continue;
            }
            long addr = kernel.mm().kmemCacheAlloc(xfsInodeZone, gfp);
            if (addr == 0) {
                throw new VfsException(-Errno.ENOMEM, "xfs_iget(" + mp.devName() + ", ino " + ino + ")");
            }
            kernel.mm().mem().memset(addr, 0, XFS_INODE_SIZE);
            kernel.mm().mem().putLong(addr, ino);
            XfsInode fresh = new XfsInode(sb, dinode, addr);
            fresh.setup(new XfsAops(mp, fresh));
            boolean raced;
            iciLock.spinLock();
            try {
                raced = icache.putIfAbsent(ino, fresh) != null;
            } finally {
                iciLock.spinUnlock();
            }
            if (raced) {
                kernel.mm().addressSpaceDestroy(fresh.mapping());
                kernel.mm().kmemCacheFree(xfsInodeZone, addr);
                continue;
            }
            sb.iNew(fresh);
            igetChanged();
            return fresh;
        }
    }

    /** xfs_fs_destroy_inode() -> xfs_inode_set_reclaim_tag(): the VFS is done with it; reclaim frees it. */
    void xfsFsDestroyInode(XfsInode ip) {
        iciLock.spinLock();
        try {
            ip.iFlags |= XfsInode.XFS_IRECLAIMABLE;
            reclaimList.add(ip);
            nrReclaimable = reclaimList.size();
        } finally {
            iciLock.spinUnlock();
        }
        igetChanged();
    }

    /**
     * xfs_reclaim_inodes_nr(): reclaims up to {@code nrToScan} inodes from the reclaim list, waiting for
     * pinned ones (2015, SYNC_WAIT) unless reclaim is non-blocking. Returns the inodes freed.
     */
    long xfsReclaimInodesNr(long nrToScan) {
        return xfsReclaimInodesAg(nrToScan, !kernel.config().has(XFS_NONBLOCKING_INODE_RECLAIM));
    }

    /** xfs_reclaim_inodes(mp, SYNC_WAIT) at unmount: every reclaimable inode, waiting for pins. */
    void xfsReclaimInodesAll() {
        while (nrReclaimable > 0) {
            xfsReclaimInodesAg(Long.MAX_VALUE, true);
        }
    }

    /** xfs_reclaim_inodes_ag(): grabs a batch (XFS_IRECLAIM), then reclaims each. */
    private long xfsReclaimInodesAg(long nrToScan, boolean syncWait) {
        List<XfsInode> batch = new ArrayList<>();
        iciLock.spinLock();
        try {
            for (XfsInode ip : reclaimList) {
                if (batch.size() >= nrToScan) {
                    break;
                }
                if ((ip.iFlags & XfsInode.XFS_IRECLAIM) == 0) {
                    ip.iFlags |= XfsInode.XFS_IRECLAIM;
                    batch.add(ip);
                }
            }
        } finally {
            iciLock.spinUnlock();
        }
        long freed = 0;
        for (XfsInode ip : batch) {
            if (xfsReclaimInode(ip, syncWait)) {
                freed++;
            }
        }
        return freed;
    }

    /**
     * xfs_reclaim_inode() (v4.3): takes XFS_ILOCK_EXCL (blocking, as in 2015, unless non-blocking); a
     * pinned inode is either waited for (log force, then xfs_iunpin_wait) or put back; then the inode
     * leaves the cache and its xfs_inode object is freed. True if it was freed.
     */
    boolean xfsReclaimInode(XfsInode ip, boolean syncWait) {
        if (syncWait) {
            ip.xfsIlock(XfsInode.XFS_ILOCK_EXCL);
        } else if (!ip.xfsIlockNowait(XfsInode.XFS_ILOCK_EXCL)) {
            putBack(ip);
            return false;
        }
        if (ip.pincount() > 0) {
            if (!syncWait) {
                ip.xfsIunlock(XfsInode.XFS_ILOCK_EXCL);
                reclaimSkippedPinned.incrementAndGet();
                putBack(ip);
                return false;
            }
            xfsIunpinWait(ip);
        }
        ip.xfsIunlock(XfsInode.XFS_ILOCK_EXCL);
        iciLock.spinLock();
        try {
            icache.remove(ip.ino(), ip);
            reclaimList.remove(ip);
            nrReclaimable = reclaimList.size();
            ip.iFlags = 0;
        } finally {
            iciLock.spinUnlock();
        }
        kernel.mm().kmemCacheFree(xfsInodeZone, ip.kmemAddr);
        reclaimed.incrementAndGet();
        igetChanged();
        return true;
    }

    /** Clears XFS_IRECLAIM and rotates the inode to the list's tail for a later pass. */
    private void putBack(XfsInode ip) {
        iciLock.spinLock();
        try {
            ip.iFlags &= ~XfsInode.XFS_IRECLAIM;
            reclaimList.remove(ip);
            reclaimList.add(ip);
        } finally {
            iciLock.spinUnlock();
        }
        igetChanged();
    }

    private void igetChanged() {
        igetGen.incrementAndGet();
        igetWait.wakeUp();
    }

    /**
     * xfs_iunpin_wait(): xfs_iunpin() forces the log, then sleep in D state until the checkpoint IO
     * completion unpins the inode (owed by the CIL push and, through it, whoever completes the log's IO).
     */
    void xfsIunpinWait(XfsInode ip) {
        reclaimUnpinWaits.incrementAndGet();
        mp.log().xfsLogForce();
        ip.pinWait().expectWakersFrom(mp.log().unpinWakers());
        ip.pinWait().waitEvent(() -> ip.pincount() == 0);
    }
}
