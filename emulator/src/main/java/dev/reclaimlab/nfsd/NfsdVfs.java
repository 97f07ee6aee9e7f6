package dev.reclaimlab.nfsd;

import dev.reclaimlab.fs.Dcache;
import dev.reclaimlab.fs.Dentry;
import dev.reclaimlab.fs.Inode;
import dev.reclaimlab.fs.IovIter;
import dev.reclaimlab.fs.SuperBlock;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.fs.VfsException;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.mm.FileRaState;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.nfs.NfsProto;
import dev.reclaimlab.sunrpc.RpcCall;
import dev.reclaimlab.sunrpc.RpcReply;
import dev.reclaimlab.sunrpc.SvcProgram;
import dev.reclaimlab.sunrpc.SvcRqst;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * nfsd_dispatch() and the NFSv3 procedures over the exported filesystem (fs/nfsd/nfs3proc.c, vfs.c, Linux
 * 3.14). Name operations lock the parent with fh_lock_nested(fhp, I_MUTEX_PARENT) and allocate under it
 * (lookup_one_len() -> d_alloc() -> __d_alloc(GFP_KERNEL)); nfsd_lookup() keeps the lock until fh_put(), after
 * the lookup. WRITE is nfsd_vfs_write(): the local write path (page cache, balance_dirty_pages()), then
 * vfs_fsync_range() if the client asked for a stable write (the export is "sync"); COMMIT is nfsd_commit():
 * vfs_fsync_range() with no directory lock.
 */
final class NfsdVfs implements SvcProgram {
    private final Kernel kernel;
    private final Vfs vfs;
    private final SuperBlock sb;
    private final Dcache dcache;
    private final ConcurrentHashMap<Long, Dentry> handles = new ConcurrentHashMap<>();
    /** The dentries the request being served on this nfsd thread verified (its svc_fh's). */
    private final ThreadLocal<List<Dentry>> requestRefs = ThreadLocal.withInitial(java.util.ArrayList::new);
    /** The table's dentry of a handle, with a reference for the request unless it went negative. */
    private final java.util.function.BiFunction<Long, Dentry, Dentry> dgetPositive;
    /** The write verifier: nfsd's boot time, which a client compares to detect a server reboot. */
    private final long bootVerf = System.nanoTime();

    NfsdVfs(Kernel kernel, Vfs vfs) {
        this.kernel = kernel;
        this.vfs = vfs;
        this.sb = vfs.sb();
        this.dcache = sb.dcache();
        this.dgetPositive = (fh, d) -> d.inode() == null ? d : dcache.dget(d);
        Dentry root = dcache.dget(sb.root());
        handles.put(root.inode().ino(), root);
    }

    long rootFh() {
        return sb.root().inode().ino();
    }

    int nrHandles() {
        return handles.size();
    }

    Dentry dentryOf(long fh) {
        return handles.get(fh);
    }

    @Override
    public String procName(int proc) {
        return NfsProto.procName(proc);
    }

    @Override
    public RpcReply dispatch(SvcRqst rqstp, RpcCall call) {
        rqstp.usePages(1);
        try {
            switch (call.proc()) {
                case NfsProto.NFSPROC3_GETATTR:
                    return nfsd3ProcGetattr(call, (NfsProto.FhArgs) call.args());
                case NfsProto.NFSPROC3_LOOKUP:
                    return nfsd3ProcLookup(call, (NfsProto.DirOpArgs) call.args());
                case NfsProto.NFSPROC3_CREATE:
                    return doNfsdCreate(call, (NfsProto.DirOpArgs) call.args(), false);
                case NfsProto.NFSPROC3_MKDIR:
                    return doNfsdCreate(call, (NfsProto.DirOpArgs) call.args(), true);
                case NfsProto.NFSPROC3_REMOVE:
                    return nfsdUnlink(call, (NfsProto.DirOpArgs) call.args(), false);
                case NfsProto.NFSPROC3_RMDIR:
                    return nfsdUnlink(call, (NfsProto.DirOpArgs) call.args(), true);
                case NfsProto.NFSPROC3_READDIR:
                    return nfsdReaddir(call, (NfsProto.FhArgs) call.args());
                case NfsProto.NFSPROC3_READ:
                    return nfsdRead(rqstp, call, (NfsProto.ReadArgs) call.args());
                case NfsProto.NFSPROC3_WRITE:
                    return nfsdVfsWrite(rqstp, call, (NfsProto.WriteArgs) call.args());
                case NfsProto.NFSPROC3_COMMIT:
                    return nfsdCommit(call, (NfsProto.CommitArgs) call.args());
                default:
                    return err(call, -Errno.ENOSYS);
            }
        } catch (VfsException e) {
            return err(call, -e.errno());
        } catch (ClassCastException | NullPointerException e) {
            // A call whose arguments do not decode: GARBAGE_ARGS, as svc_process_common() answers.
            return err(call, -Errno.EINVAL);
        } finally {
            fhPutAll();
        }
    }

    private static RpcReply ok(RpcCall call, Object res) {
        return new RpcReply(call.xid(), 0, res, null);
    }

    private static RpcReply err(RpcCall call, int errno) {
        return new RpcReply(call.xid(), errno, null, null);
    }

    /**
     * fh_verify(): the dentry of a handle this server gave out, or -ESTALE, with a reference of the request's
     * own (exportfs_decode_fh()'s dget, dropped by fh_put() when the request ends), so a REMOVE served beside
     * it cannot evict the inode under a READ, WRITE or COMMIT: vfs_unlink() then only unhashes the dentry,
     * and the last fh_put() evicts. Taken atomically against the table's removal of the handle.
     */
    private Dentry fhVerify(long fh) {
        Dentry d = handles.computeIfPresent(fh, dgetPositive);
        if (d == null || d.inode() == null) {
            throw new VfsException(-Errno.ESTALE, "nfsd: fh " + fh);
        }
        requestRefs.get().add(d);
        return d;
    }

    /** fh_put() of every handle the request verified (pc_release, before the reply goes out). */
    private void fhPutAll() {
        List<Dentry> refs = requestRefs.get();
        for (Dentry d : refs) {
            dcache.dput(d);
        }
        refs.clear();
    }

    private Dentry fhVerifyDir(long fh) {
        Dentry d = fhVerify(fh);
        if (!d.inode().isDir()) {
            throw new VfsException(-Errno.ENOTDIR, "nfsd: fh " + fh);
        }
        return d;
    }

    private static NfsProto.Fattr fattr(Inode inode) {
        return new NfsProto.Fattr(inode.ino(), inode.mode(), inode.iSize(), inode.nlink(), inode.iMtime());
    }

    /** fh_compose(): a handle for the referenced {@code d}; the table keeps one reference per handle. */
    private NfsProto.Fattr fhCompose(Dentry d) {
        long fh = d.inode().ino();
        if (handles.putIfAbsent(fh, d) != null) {
            dcache.dput(d);
        }
        return fattr(handles.getOrDefault(fh, d).inode());
    }

    private RpcReply nfsd3ProcGetattr(RpcCall call, NfsProto.FhArgs a) {
        return ok(call, fattr(fhVerify(a.fh()).inode()));
    }

    /** fh_lock_nested(fhp, I_MUTEX_PARENT): mutex_lock_nested() on the local directory's i_mutex. */
    private static void fhLockNested(Dentry dir, int subclass) {
        dir.inode().inodeLockNested(subclass);
    }

    private static void fhUnlock(Dentry dir) {
        dir.inode().inodeUnlock();
    }

    /**
     * nfsd3_proc_lookup() -> nfsd_lookup() -> nfsd_lookup_dentry(): the lock is held to fh_put(). The reply
     * carries the directory's attributes (post_op_attr dir_attributes), found or not. lookup_one_len() of an
     * absent name leaves a negative dentry, which the next LOOKUP of the name finds without allocating.
     */
    private RpcReply nfsd3ProcLookup(RpcCall call, NfsProto.DirOpArgs a) {
        Dentry dir = fhVerifyDir(a.dirFh());
        fhLockNested(dir, Inode.I_MUTEX_PARENT);
        try {
            Dentry d = vfs.lookupOneLen(dir, a.name());
            if (d.inode() == null) {
                dcache.dput(d);
                return new RpcReply(call.xid(), -Errno.ENOENT, new NfsProto.LookupRes(null, fattr(dir.inode())), null);
            }
            return ok(call, new NfsProto.LookupRes(fhCompose(d), fattr(dir.inode())));
        } finally {
            fhUnlock(dir);
        }
    }

    /** do_nfsd_create() (GUARDED) and nfsd_create() for MKDIR: vfs_create() instantiates lookup_one_len()'s dentry. */
    private RpcReply doNfsdCreate(RpcCall call, NfsProto.DirOpArgs a, boolean dir) {
        Dentry parent = fhVerifyDir(a.dirFh());
        fhLockNested(parent, Inode.I_MUTEX_PARENT);
        try {
            Dentry dchild = vfs.lookupOneLen(parent, a.name());
            if (dchild.inode() != null) {
                dcache.dput(dchild);
                return err(call, -Errno.EEXIST);
            }
            try {
                vfs.vfsCreate(parent, dchild, dir);
            } catch (RuntimeException | Error e) {
                dcache.dput(dchild);
                throw e;
            }
            return ok(call, fhCompose(dchild));
        } finally {
            fhUnlock(parent);
        }
    }

    /**
     * nfsd_unlink(): the victim's handle goes stale. 3.14's nfsd holds no dentry between requests, so the
     * handle table's reference is given up before vfs_unlink() (and taken back if it fails): the dentry is
     * then held only by this request and d_delete() leaves it negative, evicting the inode under the
     * directory's i_mutex as nfsd_unlink() does.
     */
    private RpcReply nfsdUnlink(RpcCall call, NfsProto.DirOpArgs a, boolean dir) {
        Dentry parent = fhVerifyDir(a.dirFh());
        fhLockNested(parent, Inode.I_MUTEX_PARENT);
        int e;
        try {
            Dentry rdentry = vfs.lookupOneLen(parent, a.name());
            if (rdentry.inode() == null) {
                dcache.dput(rdentry);
                return err(call, -Errno.ENOENT);
            }
            long victim = rdentry.inode().ino();
            Dentry held = handles.remove(victim);
            if (held != null) {
                dcache.dput(held);
            }
            e = vfs.vfsUnlink(parent, rdentry, dir);
            if (e != 0 && held != null && handles.putIfAbsent(victim, rdentry) == null) {
                rdentry = null;
            }
            if (rdentry != null) {
                dcache.dput(rdentry);
            }
        } finally {
            fhUnlock(parent);
        }
        return e == 0 ? ok(call, null) : err(call, e);
    }

    /** nfsd_readdir() -> nfsd_buffered_readdir(): the directory's i_mutex, killable, subclass 0. */
    private RpcReply nfsdReaddir(RpcCall call, NfsProto.FhArgs a) {
        Inode dir = fhVerifyDir(a.fh()).inode();
        if (dir.inodeLockKillable() != 0) {
            return err(call, -Errno.EINTR);
        }
        try {
            List<String> names = new ArrayList<>();
            List<Long> fileids = new ArrayList<>();
            sb.dirOps().iterate(dir, null, (name, ino) -> {
                names.add(name);
                fileids.add(ino);
                return true;
            });
            return ok(call, new NfsProto.ReaddirRes(names, fileids));
        } finally {
            dir.inodeUnlockShared();
        }
    }

    private Inode regular(long fh) {
        Inode inode = fhVerify(fh).inode();
        if (inode.isDir()) {
            throw new VfsException(-Errno.EISDIR, "nfsd: fh " + fh);
        }
        return inode;
    }

    /** nfsd_read(): the local read path (readahead from nfsd's racache) into the reply's pages. */
    private RpcReply nfsdRead(SvcRqst rqstp, RpcCall call, NfsProto.ReadArgs a) {
        Inode inode = regular(a.fh());
        if (a.offset() < 0 || a.count() < 0 || a.count() > (rqstp.nrPages() - 1) * PhysMem.PAGE_SIZE) {
            return err(call, -Errno.EINVAL);
        }
        long avail = Math.max(0, inode.iSize() - a.offset());
        int n = (int) Math.min(a.count(), avail);
        byte[] buf = new byte[n];
        long got = n == 0 ? 0 : sb.fileOps().readIter(inode, new FileRaState(inode.mapping()), a.offset(),
                IovIter.ofArray(buf, 0), n);
        if (got < 0) {
            return err(call, (int) got);
        }
        rqstp.usePages(1 + (int) ((got + PhysMem.PAGE_SIZE - 1) / PhysMem.PAGE_SIZE));
        byte[] data = got == n ? buf : java.util.Arrays.copyOf(buf, (int) got);
        return new RpcReply(call.xid(), 0, new NfsProto.ReadRes((int) got, a.offset() + got >= inode.iSize(),
                fattr(inode)), data);
    }

    /**
     * nfsd_vfs_write(): the data (in the request's pages) through the local write path; stable writes are
     * then synced (EX_ISSYNC: the client's stable_how is kept), unstable ones left for a COMMIT. With
     * {@link Nfsd#NFSD_LESS_THROTTLE_WHEN_NEEDED} a loop-back WRITE is served PF_LESS_THROTTLE.
     */
    private RpcReply nfsdVfsWrite(SvcRqst rqstp, RpcCall call, NfsProto.WriteArgs a) {
        boolean local = rqstp.rqLocal() && kernel.config().has(Nfsd.NFSD_LESS_THROTTLE_WHEN_NEEDED);
        if (!local) {
            return nfsdVfsWriteLocked(rqstp, call, a);
        }
        Task current = kernel.currentTask();
        int pflags = current.flags();
        current.setFlags(pflags | TaskFlags.PF_LESS_THROTTLE);
        try {
            return nfsdVfsWriteLocked(rqstp, call, a);
        } finally {
            // tsk_restore_flags(current, pflags, PF_LESS_THROTTLE)
            current.setFlags((current.flags() & ~TaskFlags.PF_LESS_THROTTLE) | (pflags & TaskFlags.PF_LESS_THROTTLE));
        }
    }

    private RpcReply nfsdVfsWriteLocked(SvcRqst rqstp, RpcCall call, NfsProto.WriteArgs a) {
        Inode inode = regular(a.fh());
        byte[] data = call.data();
        if (data == null || a.count() != data.length || a.offset() < 0
                || a.count() > (rqstp.nrPages() - 1) * PhysMem.PAGE_SIZE) {
            return err(call, -Errno.EINVAL);
        }
        // The data stays in the argument pages, which svc_tcp_recvfrom() reuses: only the reply's page
        // (rq_respages, after them) is given back and refilled by the next svc_alloc_arg().
        IovIter from = a.count() <= PhysMem.PAGE_SIZE
                ? IovIter.ofBvec(kernel.mm().pageAddress(rqstp.page(1))) : IovIter.ofArray(data, 0);
        long n = sb.fileOps().writeIter(inode, a.offset(), from, a.count());
        if (n < 0) {
            return err(call, (int) n);
        }
        int committed = NfsProto.NFS_UNSTABLE;
        if (a.stable() != NfsProto.NFS_UNSTABLE) {
            int e = sb.fileOps().fsync(inode);
            if (e < 0) {
                return err(call, e);
            }
            committed = NfsProto.NFS_FILE_SYNC;
        }
        return ok(call, new NfsProto.WriteRes((int) n, committed, bootVerf, fattr(inode)));
    }

    /** nfsd_commit(): vfs_fsync_range() of the file (xfs_file_fsync(): write and wait, then the log). */
    private RpcReply nfsdCommit(RpcCall call, NfsProto.CommitArgs a) {
        Inode inode = regular(a.fh());
        int e = sb.fileOps().fsync(inode);
        return e < 0 ? err(call, e) : ok(call, new NfsProto.CommitRes(bootVerf));
    }

    /** Drops every handle's dentry (unexport). */
    void putAll() {
        for (Long fh : List.copyOf(handles.keySet())) {
            Dentry d = handles.remove(fh);
            if (d != null) {
                dcache.dput(d);
            }
        }
    }
}
