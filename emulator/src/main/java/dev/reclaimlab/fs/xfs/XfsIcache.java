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
 * fs/xfs/xfs_icache.c (Linux 4.3; 5.3's xfs_reclaim_inode() and xfs_reclaim_inodes_nr() are the same): the
 * mount's in-core inode cache and inode reclaim. The VFS evicts an unused inode and hands it back with
 * destroy_inode(), which only tags it XFS_IRECLAIMABLE; the superblock shrinker then frees reclaimable
 * inodes through {@link #xfsReclaimInodesNr}. A pinned inode cannot be freed: reclaim from the shrinker
 * (SYNC_TRYLOCK | SYNC_WAIT) forces the log and sleeps until the checkpoint IO unpins it; with
 * {@link #XFS_NONBLOCKING_INODE_RECLAIM} it skips the inode and leaves it for a later pass. Reclaim takes
 * the ILOCK twice, both blocking: at the head of xfs_reclaim_inode(), and once more after the inode left
 * the cache, to wait out lookups that found it without a reference.
 */
public final class XfsIcache {
    /** Reclaim never waits on a pinned inode: the direction XFS took in later kernels. */
    public static final Fix XFS_NONBLOCKING_INODE_RECLAIM = Fix.declare("xfs_nonblocking_inode_reclaim",
            "inode reclaim from the shrinker skips pinned inodes instead of forcing the log and waiting for"
                    + " the unpin",
            "argued for in the seed 001 thread (reclaim must not wait on log IO); later XFS inode reclaim"
                    + " is non-blocking", null);
    /**
     * Every ILOCK reclaim takes is an xfs_ilock_nowait(): the head lock skips a busy inode, and the tail
     * lock cannot be contended (nothing can find the inode any more) and so adds no dependency either.
     * Mainline's 9552e14d3e87 (5.9) converted only the head; the tail stayed blocking and lockdep kept
     * reporting it (syzbot, 2024).
     */
    public static final Fix XFS_RECLAIM_ILOCK_NOWAIT = Fix.declare("xfs_reclaim_ilock_nowait",
            "inode reclaim takes the ILOCK with xfs_ilock_nowait(), at the head of xfs_reclaim_inode() and at"
                    + " its tail",
            "seed 002 (\"That will change everything to trylocks in reclaim context\") and Dave Chinner's Oct 2019"
                    + " RFC \"mm, xfs: non-blocking inode reclaim\", which also dropped the tail lock", null);
    /** A lock class for the ILOCK of inodes on their way to reclaim (see {@link XfsInode#xfsEvicted}). */
    public static final Fix XFS_RECLAIMABLE_ILOCK_CLASS = Fix.declare("xfs_reclaimable_ilock_class",
            "an inode's ILOCK moves to the class xfs_ilock_reclaimable when the VFS evicts it, and back to its"
                    + " type's class when xfs_iget recycles it",
            "as ~3.4 XFS re-classed the iolock (xfs_iolock_reclaimable / xfs_iolock_active); never done for the"
                    + " ILOCK", null);
    /**
     * A control, not a kernel: reclaim's walk grabs every in-core inode, referenced ones too, and takes
     * their ILOCK before it finds them not reclaimable, so above and below reclaim meet on one inode.
     */
    public static final Fix XFS_RECLAIM_REFERENCED = Fix.declare("xfs_reclaim_referenced",
            "control: inode reclaim also grabs inodes still referenced and takes their ILOCK (blocking) before it"
                    + " puts them back",
            "reclaimlab control: breaks the referenced/unreferenced separation of seed 002; no kernel did this",
            null);
    /** sizeof(struct xfs_inode) on x86-64, roughly, with the VFS inode inside; the xfs_inode cache's object. */
    public static final int XFS_INODE_SIZE = 960;
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
    /** Referenced inodes whose ILOCK reclaim took (only with {@link #XFS_RECLAIM_REFERENCED}). */
    final AtomicLong reclaimLockedReferenced = new AtomicLong();
    private final boolean ilockNowait;
    private final boolean referenced;


    XfsIcache(Xfs mp) {
        this.mp = mp;
        this.kernel = mp.kernel();
        this.xfsInodeZone = SuperBlock.kmemCacheGet(kernel.mm(), "xfs_inode", XFS_INODE_SIZE);
        this.igetWait = new WaitQueue("xfs_iget " + mp.devName());
        this.ilockNowait = kernel.config().has(XFS_RECLAIM_ILOCK_NOWAIT);
        this.referenced = kernel.config().has(XFS_RECLAIM_REFERENCED);
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
            XfsInode fresh = new XfsInode(mp, sb, dinode, addr);
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

    /**
     * xfs_reclaim_inodes_ag(): grabs a batch (xfs_reclaim_inode_grab() sets XFS_IRECLAIM), then reclaims
     * each. The control's walk takes every in-core inode, grabbing reclaimable ones up to the scan's
     * count; the referenced ones are locked and left (they do not count against the scan, as nothing is
     * reclaimed from them).
     */
    private long xfsReclaimInodesAg(long nrToScan, boolean syncWait) {
        Iterable<XfsInode> walk = referenced ? inoOrder() : reclaimList;
        List<XfsInode> batch = new ArrayList<>();
        java.util.BitSet grabbed = new java.util.BitSet();
        iciLock.spinLock();
        try {
            int grabs = 0;
            for (XfsInode ip : walk) {
                if (grabs >= nrToScan && !referenced) {
                    break;
                }
                if ((ip.iFlags & XfsInode.XFS_IRECLAIM) != 0 || icache.get(ip.ino()) != ip) {
                    continue;
                }
                if ((ip.iFlags & XfsInode.XFS_IRECLAIMABLE) != 0) {
                    if (grabs >= nrToScan) {
                        continue;
                    }
                    ip.iFlags |= XfsInode.XFS_IRECLAIM;
                    grabbed.set(batch.size());
                    grabs++;
                } else if (!referenced) {
                    continue;
                }
                batch.add(ip);
            }
        } finally {
            iciLock.spinUnlock();
        }
        long freed = 0;
        for (int i = 0; i < batch.size(); i++) {
            XfsInode ip = batch.get(i);
            if (!grabbed.get(i)) {
                xfsReclaimLockReferenced(ip, syncWait);
            } else if (xfsReclaimInode(ip, syncWait)) {
                freed++;
            }
        }
        return freed;
    }

    /**
     * The control's walk: every in-core inode in inode-number order from the first, as the radix-tree gang
     * lookup of the blocking pass goes (first_index 0), but without the reclaim tag.
     */
    private List<XfsInode> inoOrder() {
        long[] inos = icache.keySet().stream().mapToLong(Long::longValue).sorted().toArray();
        List<XfsInode> out = new ArrayList<>(inos.length);
        for (long ino : inos) {
            XfsInode ip = icache.get(ino);
            if (ip != null) {
                out.add(ip);
            }
        }
        return out;
    }

    /**
     * xfs_reclaim_inode() (4.3, 5.3): takes XFS_ILOCK_EXCL (blocking, unless non-blocking or
     * {@link #XFS_RECLAIM_ILOCK_NOWAIT}); a pinned inode is either waited for (log force, then
     * xfs_iunpin_wait) or put back; then the inode leaves the cache, its ILOCK is taken and dropped once
     * more, and its xfs_inode object is freed. True if it was freed.
     */
    boolean xfsReclaimInode(XfsInode ip, boolean syncWait) {
        if (syncWait && !ilockNowait) {
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
        // The "(almost) spurious" lock: waits out a lookup that found the inode without a reference.
        if (!ilockNowait) {
            ip.xfsIlock(XfsInode.XFS_ILOCK_EXCL);
        } else if (!ip.xfsIlockNowait(XfsInode.XFS_ILOCK_EXCL)) {
            throw new IllegalStateException("xfs_reclaim_inode(" + ip + "): ILOCK held after the inode left the"
                    + " cache; nothing can find it any more");
        }
        ip.xfsIunlock(XfsInode.XFS_ILOCK_EXCL);
        kernel.mm().kmemCacheFree(xfsInodeZone, ip.kmemAddr);
        reclaimed.incrementAndGet();
        igetChanged();
        return true;
    }

    /** The control's visit of a referenced inode: its ILOCK taken as reclaim would, found in use, dropped. */
    private void xfsReclaimLockReferenced(XfsInode ip, boolean syncWait) {
        if (syncWait && !ilockNowait) {
            ip.xfsIlock(XfsInode.XFS_ILOCK_EXCL);
        } else if (!ip.xfsIlockNowait(XfsInode.XFS_ILOCK_EXCL)) {
            return;
        }
        reclaimLockedReferenced.incrementAndGet();
        ip.xfsIunlock(XfsInode.XFS_ILOCK_EXCL);
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
