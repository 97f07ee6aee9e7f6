package dev.reclaimlab.fs;

import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.locking.SpinLock;
import dev.reclaimlab.mm.KmemCache;
import dev.reclaimlab.mm.Mm;
import dev.reclaimlab.mm.PhysMem;

import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.concurrent.atomic.AtomicLong;

/**
 * fs/dcache.c for one superblock: allocating, finding, releasing and pruning dentries. Dentry memory
 * comes from the kernel's "dentry" cache; __d_alloc() takes the gfp as a parameter, so a caller that
 * holds filesystem locks can pass GFP_NOFS. Nothing sleeps or allocates under {@link #dcacheLock}.
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
        if (b.length > DNAME_INLINE_LEN - 1) {
            // The external name: kmalloc(name->len + 1) with the same gfp, as __d_alloc() does; the emulator
            // keeps the name on the heap and gives the bytes back at once, having charged the allocation.
            long ext = mm.kmalloc(b.length + 1, gfp);
            if (ext == 0) {
                mm.kmemCacheFree(dentryCache, addr);
                return null;
            }
            mm.kfree(ext);
        }
        PhysMem mem = mm.mem();
        mem.memset(addr, 0, DENTRY_SIZE);
        mem.copyIn(addr + D_INAME_OFFSET, b, 0, Math.min(b.length, DNAME_INLINE_LEN - 1));
        Dentry d = new Dentry(name, parent, addr);
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

    /** d_add(): binds {@code inode} (whose reference the dentry takes over) and hashes the dentry. */
    public void dAdd(Dentry d, Inode inode) {
        dcacheLock.spinLock();
        try {
            if (d.hashed) {
                throw new IllegalStateException("d_add(" + d + "): already hashed");
            }
            d.inode = inode;
            if (d.parent() != null) {
                Dentry old = d.parent().children.putIfAbsent(d.name(), d);
                if (old != null) {
                    throw new IllegalStateException("d_add(" + d + "): the name is already hashed; callers hold the"
                            + " directory's i_rwsem, so this is a VFS bug");
                }
            }
            d.hashed = true;
        } finally {
            dcacheLock.spinUnlock();
        }
    }

    /** d_lookup(): the hashed child {@code name} of {@code parent} with a reference, or null. */
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

    /** d_delete() + d_drop(): unhashes a dentry whose name was removed; the last dput() frees it. */
    public void dDelete(Dentry d) {
        dcacheLock.spinLock();
        try {
            unhashLocked(d);
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

    /** dentry_kill(): frees an unhashed dentry nobody uses; returns the parent, whose reference is still to drop. */
    private Dentry dentryKill(Dentry d) {
        Inode inode = d.inode;
        d.inode = null;
        mm.kmemCacheFree(dentryCache, d.addr);
        nrDentries.decrementAndGet();
        if (inode != null) {
            sb.iput(inode);
        }
        return d.parent();
    }

    /**
     * prune_dcache_sb(): frees up to {@code nrToScan} unused dentries from the LRU's cold end, releasing
     * their inodes (which may then be evicted). Returns how many were freed.
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
                it.remove();
                d.onLru = false;
                nrUnused = lru.size();
                if (d.count > 0) {
                    continue;
                }
                unhashLocked(d);
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

    /** shrink_dcache_sb(): prunes until no unused dentry is left. */
    void shrinkDcacheSb() {
        while (pruneDcacheSb(Long.MAX_VALUE) > 0) {
            continue;
        }
    }
}
