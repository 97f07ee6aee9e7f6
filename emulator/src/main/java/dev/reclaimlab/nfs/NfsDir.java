package dev.reclaimlab.nfs;

import dev.reclaimlab.fs.Inode;
import dev.reclaimlab.fs.InodeOperations;
import dev.reclaimlab.fs.VfsException;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.sunrpc.RpcReply;

import java.util.List;

/**
 * nfs_dir_inode_operations (fs/nfs/dir.c, nfs3proc.c, Linux 3.14): each is a sync RPC run in the caller,
 * which the VFS calls with the client directory's i_mutex held; the wait for the reply is TASK_KILLABLE.
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

    /** nfs_lookup() -> nfs3_proc_lookup(): null for -ENOENT. */
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

    /**
     * nfs_lookup_revalidate() (fs/nfs/dir.c, Linux 3.14), ref-walk, for a positive dentry: trusted while its
     * verifier is the directory's change attribute (nfs_check_verifier(); the attribute cache's timeout is
     * not modelled, so only replies carrying the directory's attributes show it changed); else a LOOKUP,
     * sent without the directory's i_mutex: valid if the server still maps the name to the same handle, and
     * the verifier is renewed (nfs_set_verifier(dentry, nfs_save_change_attribute(dir))).
     */
    @Override
    public boolean dRevalidate(Inode dirInode, dev.reclaimlab.fs.Dentry dentry) {
        NfsInode dir = dir(dirInode);
        Inode inode = dentry.inode();
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

    /** nfs_set_verifier(dentry, nfs_save_change_attribute(dir)). */
    @Override
    public void dSetVerifier(Inode dir, dev.reclaimlab.fs.Dentry dentry) {
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
        RpcReply r = call(NfsProto.NFSPROC3_READDIR, new NfsProto.FhArgs(dir(dir).fh()));
        check(r, "readdir", dir, "");
        return ((NfsProto.ReaddirRes) r.result()).names();
    }

    private static void check(RpcReply r, String op, Inode dir, String name) {
        if (r.status() < 0) {
            throw new VfsException(r.status(), "nfs " + op + "(" + dir + ", " + name + ")");
        }
    }
}
