package dev.reclaimlab.fs;

import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.SpinLock;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.KmemCache;
import dev.reclaimlab.mm.Mm;
import dev.reclaimlab.mm.PhysMem;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * fs/dcache.c for one superblock: allocating, finding, releasing and pruning dentries. Dentry memory
 * comes from the kernel's "dentry" cache; __d_alloc() takes the gfp as a parameter, so a caller that
 * holds filesystem locks can pass GFP_NOFS. Nothing sleeps or allocates under {@link #dcacheLock}.
 * <p>
 * Negative dentries, as Linux 3.14 keeps them (and 2.2, 4.3 and 5.3 alike): a lookup that finds no inode
 * hashes the dentry with none ({@code d_add(dentry, NULL)}), d_delete() of a name whose dentry only the
 * caller holds unbinds the inode and leaves the dentry hashed, and dput() puts an unused hashed dentry on
 * the LRU whether it has an inode or not; d_lookup() finds negative dentries too, and only the
 * superblock shrinker (super_cache_scan(), which needs __GFP_FS) or unmount frees them. A dentry keeps
 * its external name until it is freed (d_free()).
 */
public final class Dcache {
    /** sizeof(struct dentry) on x86-64. */
    public static final int DENTRY_SIZE = 192;
    /** DNAME_INLINE_LEN: the name bytes kept inside the object. */
    static final int DNAME_INLINE_LEN = 32;
    private static final int D_INAME_OFFSET = DENTRY_SIZE - DNAME_INLINE_LEN;
    /**
     * NeilBrown's RFC 16/19 "VFS: use GFP_NOFS rather than GFP_KERNEL in __d_alloc." (April 2014): the dentry
     * and its external name are allocated GFP_NOFS whatever the caller passes, because __d_alloc() runs
     * under directory i_mutexes that a loop-back nfsd may need. Dave Chinner objected (seed 000); it never
     * landed.
     */
    public static final Fix D_ALLOC_NOFS = Fix.declare("d_alloc_nofs",
            "__d_alloc() allocates the dentry and its name with GFP_NOFS",
            "RFC 16/19 VFS: use GFP_NOFS rather than GFP_KERNEL in __d_alloc (NeilBrown, 2014; never merged)", null);
    private static final LockClassKey DCACHE_LOCK_KEY = new LockClassKey("&sb->s_dentry_lru_lock");

    private final SuperBlock sb;
    private final Mm mm;
    private final KmemCache dentryCache;
    final SpinLock dcacheLock = new SpinLock("dcache_lock", DCACHE_LOCK_KEY);
    private final LinkedHashSet<Dentry> lru = new LinkedHashSet<>();
    private final AtomicLong nrDentries = new AtomicLong();
    private volatile long nrUnused;

    Dcache(SuperBlock sb) {
        this.sb = sb;
        this.mm = sb.kernel().mm();
        this.dentryCache = SuperBlock.kmemCacheGet(mm, "dentry", DENTRY_SIZE);
    }

    /** Dentries allocated and not yet freed. */
    public long nrDentries() {
        return nrDentries.get();
    }

    /** Unused dentries on the LRU (list_lru_shrink_count(&sb->s_dentry_lru)). */
    public long nrUnused() {
        return nrUnused;
    }

    /**
     * __d_alloc() + d_alloc(): a new unhashed dentry {@code name} under {@code parent} (null for a root)
     * with one reference, taking one on the parent. Returns null when the allocation fails.
     */
    public Dentry dAlloc(Dentry parent, String name, int gfp) {
        if (sb.kernel().config().has(D_ALLOC_NOFS)) {
            gfp &= ~Gfp.__GFP_FS;
        }
        long addr = mm.kmemCacheAlloc(dentryCache, gfp);
        if (addr == 0) {
            return null;
        }
        byte[] b = name.getBytes(StandardCharsets.UTF_8);
        long ext = 0;
        PhysMem mem = mm.mem();
        if (b.length > DNAME_INLINE_LEN - 1) {
            // The external name: kmalloc(name->len + 1) with the same gfp, as __d_alloc() does, held until
            // d_free() (the emulator reads the name from the heap; the bytes are there for the memory).
            ext = mm.kmalloc(b.length + 1, gfp);
            if (ext == 0) {
                mm.kmemCacheFree(dentryCache, addr);
                return null;
            }
            mem.copyIn(ext, b, 0, b.length);
        }
        mem.memset(addr, 0, DENTRY_SIZE);
        mem.copyIn(addr + D_INAME_OFFSET, b, 0, Math.min(b.length, DNAME_INLINE_LEN - 1));
        Dentry d = new Dentry(name, parent, addr, ext);
        d.count = 1;
        if (parent != null) {
            dcacheLock.spinLock();
            try {
                if (parent.count <= 0) {
                    throw new IllegalStateException("d_alloc(" + name + "): parent " + parent + " has no reference");
                }
                parent.count++;
            } finally {
                dcacheLock.spinUnlock();
            }
        }
        nrDentries.incrementAndGet();
        return d;
    }

    /**
     * d_add(): binds {@code inode} (whose reference the dentry takes over; null makes a negative dentry,
     * as a filesystem's ->lookup() does for a name that is not there) and hashes the dentry.
     */
    public void dAdd(Dentry d, Inode inode) {
        dcacheLock.spinLock();
        try {
            if (d.hashed) {
                throw new IllegalStateException("d_add(" + d + "): already hashed");
            }
            d.inode = inode;
            hashLocked(d, "d_add");
        } finally {
            dcacheLock.spinUnlock();
        }
    }

    private void hashLocked(Dentry d, String op) {
        if (d.parent() != null) {
            Dentry old = d.parent().children.putIfAbsent(d.name(), d);
            if (old != null) {
                throw new IllegalStateException(op + "(" + d + "): the name is already hashed; callers hold the"
                        + " directory's i_rwsem, so this is a VFS bug");
            }
        }
        d.hashed = true;
    }

    /**
     * d_instantiate(): binds {@code inode} (its reference taken over) to the negative dentry {@code d} that a
     * create found; no new dentry is allocated. An unhashed one (NFS's exclusive create, whose lookup was
     * optimised away, or nfs_instantiate()'s d_drop()) is hashed, as nfs_instantiate()'s d_add() does.
     */
    public void dInstantiate(Dentry d, Inode inode) {
        if (inode == null) {
            throw new IllegalArgumentException("d_instantiate(" + d + "): no inode");
        }
        dcacheLock.spinLock();
        try {
            if (d.inode != null) {
                throw new IllegalStateException("d_instantiate(" + d + "): already positive (" + d.inode + ")");
            }
            d.inode = inode;
            if (!d.hashed) {
                hashLocked(d, "d_instantiate");
            }
        } finally {
            dcacheLock.spinUnlock();
        }
    }

    /**
     * d_lookup(): the hashed child {@code name} of {@code parent} with a reference, or null. The dentry may be
     * negative ({@link Dentry#inode()} null): the name is known to be absent.
     */
    public Dentry dLookup(Dentry parent, String name) {
        dcacheLock.spinLock();
        try {
            Dentry d = parent.children.get(name);
            if (d != null) {
                dgetLocked(d);
            }
            return d;
        } finally {
            dcacheLock.spinUnlock();
        }
    }

    /** dget(). */
    public Dentry dget(Dentry d) {
        dcacheLock.spinLock();
        try {
            if (d.count <= 0 && !d.hashed) {
                throw new IllegalStateException("dget(" + d + "): dentry is being freed");
            }
            dgetLocked(d);
            return d;
        } finally {
            dcacheLock.spinUnlock();
        }
    }

    private void dgetLocked(Dentry d) {
        d.count++;
        if (d.onLru) {
            lru.remove(d);
            d.onLru = false;
            nrUnused = lru.size();
        }
    }

    /**
     * d_delete() after a successful unlink or rmdir: if the caller holds the only reference, the dentry
     * turns negative and stays hashed (dentry_unlink_inode(): the inode reference is dropped here), so the
     * next lookup of the name needs no new dentry; otherwise it is unhashed (__d_drop()) and the last dput()
     * frees it with its inode reference.
     */
    public void dDelete(Dentry d) {
        Inode inode = null;
        dcacheLock.spinLock();
        try {
            if (d.count == 1 && d.inode != null) {
                inode = d.inode;
                d.inode = null;
            } else {
                unhashLocked(d);
            }
        } finally {
            dcacheLock.spinUnlock();
        }
        if (inode != null) {
            sb.iput(inode);
        }
    }

    /** d_drop(): unhashes {@code d} (d_invalidate() of a dentry d_revalidate() rejected, NFS's unlink); dput() frees it. */
    public void dDrop(Dentry d) {
        dcacheLock.spinLock();
        try {
            unhashLocked(d);
        } finally {
            dcacheLock.spinUnlock();
        }
    }

    /** d_rehash(): hashes again a dentry d_drop() unhashed (nfs_unlink() after a failed REMOVE). */
    public void dRehash(Dentry d) {
        dcacheLock.spinLock();
        try {
            if (!d.hashed) {
                hashLocked(d, "d_rehash");
            }
        } finally {
            dcacheLock.spinUnlock();
        }
    }

    /** d_unhashed(). */
    public boolean dUnhashed(Dentry d) {
        dcacheLock.spinLock();
        try {
            return !d.hashed;
        } finally {
            dcacheLock.spinUnlock();
        }
    }

    private void unhashLocked(Dentry d) {
        if (d.hashed && d.parent() != null) {
            d.parent().children.remove(d.name(), d);
        }
        d.hashed = false;
    }

    /**
     * dput(): drops a reference; an unused hashed dentry goes on the LRU, an unhashed one is freed with
     * its inode reference and its parent's reference, up the tree as far as counts fall to zero.
     */
    public void dput(Dentry d) {
        while (d != null) {
            dcacheLock.spinLock();
            try {
                if (d.count <= 0) {
                    throw new IllegalStateException("dput(" + d + "): count is already " + d.count);
                }
                if (--d.count > 0) {
                    return;
                }
                if (d.hashed && sb.active()) {
                    lru.add(d);
                    d.onLru = true;
                    nrUnused = lru.size();
                    return;
                }
                unhashLocked(d);
            } finally {
                dcacheLock.spinUnlock();
            }
            d = dentryKill(d);
        }
    }

    /** dentry_kill() + d_free(): frees an unhashed dentry nobody uses; returns the parent, whose reference is still to drop. */
    private Dentry dentryKill(Dentry d) {
        Inode inode = d.inode;
        d.inode = null;
        if (d.extName != 0) {
            mm.kfree(d.extName);
        }
        mm.kmemCacheFree(dentryCache, d.addr);
        nrDentries.decrementAndGet();
        if (inode != null) {
            sb.iput(inode);
        }
        return d.parent();
    }

    /**
     * prune_dcache_sb(): frees up to {@code nrToScan} unused dentries from the LRU's cold end, negative ones
     * as positive ones, releasing their inodes (which may then be evicted). Returns how many were freed.
     */
    public long pruneDcacheSb(long nrToScan) {
        long freed = 0;
        for (long i = 0; i < nrToScan; i++) {
            Dentry d;
            dcacheLock.spinLock();
            try {
                Iterator<Dentry> it = lru.iterator();
                if (!it.hasNext()) {
                    break;
                }
                d = it.next();
                if (d.count > 0) {
                    it.remove();
                    d.onLru = false;
                    nrUnused = lru.size();
                    continue;
                }
                detachUnusedLocked(d);
            } finally {
                dcacheLock.spinUnlock();
            }
            Dentry parent = dentryKill(d);
            freed++;
            if (parent != null) {
                dput(parent);
            }
        }
        return freed;
    }

    /**
     * shrink_dcache_parent() as vfs_rmdir() calls it before ->rmdir(): frees every unused child of
     * {@code parent} (the negative dentries its files' unlinks left), so that d_delete() finds only the
     * caller's reference and the directory's inode is evicted by the caller, not later by whoever prunes.
     * A directory being removed is empty, so its children have no children of their own.
     */
    public void shrinkDcacheParent(Dentry parent) {
        List<Dentry> unused = new ArrayList<>();
        dcacheLock.spinLock();
        try {
            for (Dentry c : parent.children.values()) {
                if (c.count == 0) {
                    unused.add(c);
                }
            }
            for (Dentry c : unused) {
                detachUnusedLocked(c);
            }
        } finally {
            dcacheLock.spinUnlock();
        }
        for (Dentry c : unused) {
            dentryKill(c);
            dput(parent);
        }
    }

    /** Takes an unused dentry off the LRU and out of the hash, for dentryKill(). dcacheLock held. */
    private void detachUnusedLocked(Dentry d) {
        if (d.onLru) {
            lru.remove(d);
            d.onLru = false;
            nrUnused = lru.size();
        }
        unhashLocked(d);
    }

    /** shrink_dcache_sb(): prunes until no unused dentry is left. */
    void shrinkDcacheSb() {
        while (pruneDcacheSb(Long.MAX_VALUE) > 0) {
            continue;
        }
    }
}
