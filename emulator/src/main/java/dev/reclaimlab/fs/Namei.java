package dev.reclaimlab.fs;

import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.SchedMm;

/**
 * The lookup side of fs/namei.c, as in Linux 3.14 (4.3 and 5.3 alike on what is modelled): the path walk
 * (walk_component(): lookup_fast(), then lookup_slow() under the directory's i_mutex) and __lookup_hash()
 * (lookup_dcache(): d_lookup() and d_revalidate(); on a miss d_alloc() and lookup_real()). A dentry found in
 * the dcache, positive or negative, needs no allocation; a negative one that d_revalidate() trusts answers
 * ENOENT without the directory's lock or the filesystem. The intent flags are include/linux/namei.h's.
 */
public final class Namei {
    /** LOOKUP_OPEN: the last component is opened. */
    public static final int LOOKUP_OPEN = 0x0100;
    /** LOOKUP_CREATE: the last component is to be created (open(O_CREAT), mkdir, mknod). */
    public static final int LOOKUP_CREATE = 0x0200;
    /** LOOKUP_EXCL: ... and must not exist (O_EXCL, mkdir). */
    public static final int LOOKUP_EXCL = 0x0400;

    private final SuperBlock sb;
    private final Dcache dcache;

    Namei(SuperBlock sb) {
        this.sb = sb;
        this.dcache = sb.dcache();
    }

    /** path_lookupat() without intent: the positive dentry {@code path} names, referenced; ENOENT otherwise. */
    Dentry pathLookup(String path) {
        if (path == null || !path.startsWith("/")) {
            throw new VfsException(-Errno.EINVAL, "path '" + path + "' is not absolute");
        }
        Dentry d = dcache.dget(sb.root());
        for (String name : path.split("/")) {
            if (name.isEmpty()) {
                continue;
            }
            Dentry next;
            try {
                next = walkComponent(d, name);
            } finally {
                dcache.dput(d);
            }
            if (next == null) {
                throw new VfsException(-Errno.ENOENT, "lookup(" + path + ")");
            }
            d = next;
        }
        return d;
    }

    /**
     * walk_component(): lookup_fast() (d_lookup() and d_revalidate() without the directory's lock), else
     * lookup_slow() under its i_mutex. The positive dentry, referenced, or null if the name is absent.
     */
    private Dentry walkComponent(Dentry parent, String name) {
        Inode dir = parent.inode();
        if (!dir.isDir()) {
            throw new VfsException(-Errno.ENOTDIR, "lookup(" + parent + "/" + name + ")");
        }
        Dentry d = lookupDcache(dir, parent, name, 0);
        if (d != null) {
            return positiveOrPut(d);
        }
        dir.inodeLock();
        SchedMm.MemallocScope fstrans = exportedDirFstrans();
        try {
            return positiveOrPut(lookupHash(parent, name, 0));
        } finally {
            if (fstrans != null) {
                fstrans.close();
            }
            dir.inodeUnlock();
        }
    }

    /**
     * lookup_dcache(): the hashed dentry of {@code name}, referenced, if d_revalidate() trusts it; a rejected
     * one is d_invalidate()d (dropped, so the caller asks the filesystem again). Null when there is none.
     */
    private Dentry lookupDcache(Inode dir, Dentry parent, String name, int flags) {
        Dentry d = dcache.dLookup(parent, name);
        if (d == null || sb.dirOps().dRevalidate(dir, d, flags)) {
            return d;
        }
        dcache.dDrop(d);
        dcache.dput(d);
        return null;
    }

    private Dentry positiveOrPut(Dentry d) {
        if (d.inode() == null) {
            dcache.dput(d);
            return null;
        }
        return d;
    }

    /** {@link Vfs#EXPORTED_DIR_FSTRANS}: the NOFS scope for a directory lock just taken, or null. */
    SchedMm.MemallocScope exportedDirFstrans() {
        return sb.exported() && sb.kernel().config().has(Vfs.EXPORTED_DIR_FSTRANS) ? SchedMm.nofsScope() : null;
    }

    /**
     * __lookup_hash(): the dentry of {@code name} in {@code parent}, whose i_mutex the caller holds, with a
     * reference: positive, or negative (the name is absent). lookup_dcache() first: a hashed dentry that
     * d_revalidate() trusts is returned as it is, a rejected one is d_invalidate()d; then d_alloc()
     * (__d_alloc(GFP_KERNEL) under the caller's lock) and lookup_real(), which d_add()s the inode or NULL,
     * unless the filesystem optimises the lookup away (NFS's exclusive create: the dentry stays unhashed).
     */
    Dentry lookupHash(Dentry parent, String name, int flags) {
        Inode dir = parent.inode();
        Dentry d = lookupDcache(dir, parent, name, flags);
        if (d != null) {
            return d;
        }
        d = dcache.dAlloc(parent, name, Gfp.GFP_KERNEL);
        if (d == null) {
            throw new VfsException(-Errno.ENOMEM, "d_alloc(" + parent + "/" + name + ")");
        }
        if (sb.dirOps().isExclusiveCreate(dir, flags)) {
            return d;
        }
        Inode inode;
        try {
            inode = sb.dirOps().lookup(dir, name);
        } catch (RuntimeException | Error e) {
            dcache.dput(d);
            throw e;
        }
        dcache.dAdd(d, inode);
        sb.dirOps().dSetVerifier(dir, d);
        return d;
    }
}
