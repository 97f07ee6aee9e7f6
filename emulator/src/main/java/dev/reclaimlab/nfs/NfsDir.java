package dev.reclaimlab.nfs;

import dev.reclaimlab.fs.Dentry;
import dev.reclaimlab.fs.DirActor;
import dev.reclaimlab.fs.Inode;
import dev.reclaimlab.fs.InodeOperations;
import dev.reclaimlab.fs.Namei;
import dev.reclaimlab.fs.VfsException;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.sunrpc.RpcReply;

import java.util.List;

/**
 * nfs_dir_inode_operations (fs/nfs/dir.c, nfs3proc.c, Linux 3.14): each is a sync RPC run in the caller,
 * which the VFS calls with the client directory's i_mutex held; the wait for the reply is TASK_KILLABLE.
 * A LOOKUP answered ENOENT leaves a negative dentry carrying the directory's change attribute, which
 * answers later lookups of the name without an RPC until the client sees the directory change.
 */
final class NfsDir implements InodeOperations {
    private final NfsClient nfs;

    NfsDir(NfsClient nfs) {
        this.nfs = nfs;
    }

    private RpcReply call(int proc, Object args) {
        return nfs.server().client().rpcCallSync(proc, args, null);
    }

    private static NfsInode dir(Inode d) {
        return (NfsInode) d;
    }

    /**
     * nfs_lookup() -> nfs3_proc_lookup(): null for -ENOENT (no_entry: the VFS hashes the dentry negative and
     * nfs_set_verifier() stamps it with the change attribute the reply's dir_attributes left).
     */
    @Override
    public Inode lookup(Inode dir, String name) {
        RpcReply r = nfs3ProcLookup(dir(dir), name);
        if (r.status() == -Errno.ENOENT) {
            return null;
        }
        check(r, "lookup", dir, name);
        return nfs.nfsFhget(((NfsProto.LookupRes) r.result()).obj());
    }

    /** nfs3_proc_lookup(): a sync LOOKUP, then nfs_refresh_inode(dir, res.dir_attr). */
    private RpcReply nfs3ProcLookup(NfsInode dir, String name) {
        RpcReply r = call(NfsProto.NFSPROC3_LOOKUP, new NfsProto.DirOpArgs(dir.fh(), name));
        if (r.result() instanceof NfsProto.LookupRes res && res.dirAttr() != null) {
            dir.nfsRefreshMtime(res.dirAttr().mtime());
        }
        return r;
    }

    /** nfs_is_exclusive_create(): NFSv3 skips the LOOKUP of an O_EXCL create or a mkdir. */
    @Override
    public boolean isExclusiveCreate(Inode dir, int flags) {
        return (flags & Namei.LOOKUP_EXCL) != 0;
    }

    /**
     * nfs_lookup_revalidate() (fs/nfs/dir.c, Linux 3.14), ref-walk. A negative dentry is trusted unless
     * nfs_neg_need_reval() says otherwise, with no RPC: out_bad (the VFS drops it and looks the name up under
     * the directory's i_mutex) if its verifier is not the directory's change attribute. A positive dentry is
     * trusted while its verifier is the directory's change attribute (nfs_check_verifier(); the attribute
     * cache's timeout is not modelled, so only replies carrying the directory's attributes show it changed);
     * else a LOOKUP, sent without the directory's i_mutex: valid if the server still maps the name to the
     * same handle, and the verifier is renewed (nfs_set_verifier(dentry, nfs_save_change_attribute(dir))).
     */
    @Override
    public boolean dRevalidate(Inode dirInode, Dentry dentry, int flags) {
        NfsInode dir = dir(dirInode);
        Inode inode = dentry.inode();
        if (inode == null) {
            return !nfsNegNeedReval(dir, dentry, flags);
        }
        if (!(inode instanceof NfsInode ip)) {
            return false;
        }
        if (dentry.dTime() == dir.cacheChangeAttribute()) {
            return true;
        }
        RpcReply r = nfs3ProcLookup(dir, dentry.name());
        if (r.status() < 0 || !(r.result() instanceof NfsProto.LookupRes res) || res.obj() == null
                || res.obj().fh() != ip.fh()) {
            return false;
        }
        dentry.setDTime(dir.cacheChangeAttribute());
        return true;
    }

    /**
     * nfs_neg_need_reval(): a create trusts the negative dentry (the CREATE will tell), otherwise it must be
     * looked up again once the directory changed (!nfs_check_verifier()); lookupcache=pos is not modelled.
     */
    private static boolean nfsNegNeedReval(NfsInode dir, Dentry dentry, int flags) {
        if ((flags & Namei.LOOKUP_CREATE) != 0) {
            return false;
        }
        return dentry.dTime() != dir.cacheChangeAttribute();
    }

    /** nfs_set_verifier(dentry, nfs_save_change_attribute(dir)). */
    @Override
    public void dSetVerifier(Inode dir, Dentry dentry) {
        dentry.setDTime(dir(dir).cacheChangeAttribute());
    }

    /** nfs_create() -> nfs3_proc_create(). */
    @Override
    public Inode create(Inode dir, String name) {
        RpcReply r = call(NfsProto.NFSPROC3_CREATE, new NfsProto.DirOpArgs(dir(dir).fh(), name));
        check(r, "create", dir, name);
        return nfs.nfsFhget((NfsProto.Fattr) r.result());
    }

    /** nfs_mkdir() -> nfs3_proc_mkdir(). */
    @Override
    public Inode mkdir(Inode dir, String name) {
        RpcReply r = call(NfsProto.NFSPROC3_MKDIR, new NfsProto.DirOpArgs(dir(dir).fh(), name));
        check(r, "mkdir", dir, name);
        return nfs.nfsFhget((NfsProto.Fattr) r.result());
    }

    /** nfs_unlink() -> nfs3_proc_remove(); the inode's link count drops so its last iput() evicts it. */
    @Override
    public int unlink(Inode dir, String name, Inode inode) {
        RpcReply r = call(NfsProto.NFSPROC3_REMOVE, new NfsProto.DirOpArgs(dir(dir).fh(), name));
        if (r.status() == 0) {
            inode.setNlink(0);
        }
        return r.status();
    }

    /**
     * nfs_unlink(): a dentry nobody else uses is dropped before the REMOVE (so the VFS's d_delete() frees it
     * rather than leaving it negative) and rehashed if the REMOVE fails; on success or ENOENT it is stamped
     * with the directory's change attribute. A dentry in use elsewhere would be sillyrenamed (not modelled:
     * it is removed and d_delete() unhashes it).
     */
    @Override
    public int unlink(Inode dir, Dentry dentry) {
        boolean needRehash = false;
        if (dentry.count() <= 1 && !nfs.sb().dcache().dUnhashed(dentry)) {
            nfs.sb().dcache().dDrop(dentry);
            needRehash = true;
        }
        int err = unlink(dir, dentry.name(), dentry.inode());
        if (err == 0 || err == -Errno.ENOENT) {
            dSetVerifier(dir, dentry);
        } else if (needRehash) {
            nfs.sb().dcache().dRehash(dentry);
        }
        return err;
    }

    @Override
    public int rmdir(Inode dir, String name, Inode inode) {
        RpcReply r = call(NfsProto.NFSPROC3_RMDIR, new NfsProto.DirOpArgs(dir(dir).fh(), name));
        if (r.status() == 0) {
            inode.setNlink(0);
        }
        return r.status();
    }

    /** nfs_readdir() -> nfs3_proc_readdir(). */
    @Override
    public List<String> readdir(Inode dir) {
        return readdirRes(dir).names();
    }

    /**
     * nfs_readdir() for getdents64(): one READDIR, its entries after {@code after} handed to the actor with
     * their fileids until it refuses one. 3.14 caches the replies in the directory's page cache
     * (nfs_readdir_xdr_to_array(), pages allocated under the client directory's i_mutex) and resumes by
     * cookie; here each call asks the server again and resumes by name, the server's order being XFS's.
     */
    @Override
    public void iterate(Inode dir, String after, DirActor actor) {
        NfsProto.ReaddirRes res = readdirRes(dir);
        for (int i = 0; i < res.names().size(); i++) {
            String name = res.names().get(i);
            if ((after == null || name.compareTo(after) > 0) && !actor.emit(name, res.fileids().get(i))) {
                return;
            }
        }
    }

    private NfsProto.ReaddirRes readdirRes(Inode dir) {
        RpcReply r = call(NfsProto.NFSPROC3_READDIR, new NfsProto.FhArgs(dir(dir).fh()));
        check(r, "readdir", dir, "");
        return (NfsProto.ReaddirRes) r.result();
    }

    private static void check(RpcReply r, String op, Inode dir, String name) {
        if (r.status() < 0) {
            throw new VfsException(r.status(), "nfs " + op + "(" + dir + ", " + name + ")");
        }
    }
}
