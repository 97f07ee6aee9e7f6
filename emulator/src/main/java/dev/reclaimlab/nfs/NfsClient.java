package dev.reclaimlab.nfs;

import dev.reclaimlab.fs.FileSystemType;
import dev.reclaimlab.fs.Inode;
import dev.reclaimlab.fs.SuperBlock;
import dev.reclaimlab.fs.SuperOperations;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.fs.VfsException;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.KmemCache;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.mm.Readahead;
import dev.reclaimlab.sunrpc.RpcClnt;
import dev.reclaimlab.sunrpc.RpcReply;
import dev.reclaimlab.sunrpc.SvcXprt;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One NFSv3 mount over loop-back (fs/nfs/super.c, inode.c, Linux 3.14): {@code mount -t nfs
 * 127.0.0.1:/export /mnt}. Its superblock has no block device and its own backing_dev_info ("0:NN"); its
 * inodes are nfs_inode_cache objects found by file handle (nfs_fhget()); rsize and wsize are what the server
 * offers (nfsd_max_blksize).
 */
public final class NfsClient implements SuperOperations {
    /** NFS_MAX_READAHEAD (fs/nfs/internal.h, 3.14): readahead windows of up to this many rsize READs. */
    static final int NFS_MAX_READAHEAD = 15;

    public static final FileSystemType NFS_TYPE = new FileSystemType("nfs");
    /** sizeof(struct nfs_inode) on x86-64, roughly. */
    static final int NFS_INODE_SIZE = 1032;
    private static final AtomicInteger ANON_DEV = new AtomicInteger(40);

    private final Kernel kernel;
    private final SuperBlock sb;
    private final NfsServer server;
    private final Vfs vfs;
    private final KmemCache nfsInodeCache;
    private final ConcurrentHashMap<Long, NfsInode> icache = new ConcurrentHashMap<>();
    private final NfsWrite write;
    private final NfsRead read;
    private final NfsFile file;

    private NfsClient(Kernel kernel, SvcXprt xprt, int blksize) {
        this.kernel = kernel;
        this.file = new NfsFile(this);
        this.write = new NfsWrite(this);
        this.read = new NfsRead(this);
        String id = "0:" + ANON_DEV.incrementAndGet();
        this.sb = new SuperBlock(kernel, NFS_TYPE, null, id, this, new NfsDir(this), file);
        RpcClnt clnt = new RpcClnt(kernel, xprt, NfsProto::procName);
        this.server = new NfsServer(clnt, blksize, blksize, sb.bdi(), kernel.mm().backingDev(),
                kernel.mm().pageAlloc().managedPages());
        // nfs_server_set_fsinfo(): ra_pages = rpages * NFS_MAX_READAHEAD (RPC_DEF_SLOT_TABLE - 1).
        sb.bdi().setRaPages(Math.min(Readahead.MAX_READAHEAD, blksize / PhysMem.PAGE_SIZE * NFS_MAX_READAHEAD));
        this.nfsInodeCache = SuperBlock.kmemCacheGet(kernel.mm(), "nfs_inode_cache", NFS_INODE_SIZE);
        this.vfs = new Vfs(sb);
    }

    /**
     * nfs_fs_mount() over {@code xprt} (a connection accepted by nfsd): GETATTR of the root handle, then the
     * root dentry and the superblock's shrinker.
     */
    public static NfsClient mount(Kernel kernel, SvcXprt xprt, long rootFh, int blksize) {
        kernel.currentTask();
        NfsClient c = new NfsClient(kernel, xprt, blksize);
        RpcReply r = c.server.client().rpcCallSync(NfsProto.NFSPROC3_GETATTR, new NfsProto.FhArgs(rootFh), null);
        if (r.status() < 0) {
            throw new VfsException(r.status(), "mount nfs: GETATTR of the root handle " + rootFh);
        }
        Inode root = c.nfsFhget((NfsProto.Fattr) r.result());
        c.sb.setRoot(root);
        c.sb.activate();
        return c;
    }

    public Kernel kernel() {
        return kernel;
    }

    public SuperBlock sb() {
        return sb;
    }

    public NfsServer server() {
        return server;
    }

    /** The syscall facade on this mount. */
    public Vfs vfs() {
        return vfs;
    }

    NfsWrite write() {
        return write;
    }

    NfsRead read() {
        return read;
    }

    NfsFile file() {
        return file;
    }

    /**
     * nfs_fhget(): the referenced inode for the handle in {@code attr}, allocated (GFP_KERNEL) if not cached;
     * a cached one with no requests takes the server's size.
     */
    NfsInode nfsFhget(NfsProto.Fattr attr) {
        for (;;) {
            NfsInode ip = icache.get(attr.fh());
            if (ip != null) {
                if (sb.igrab(ip)) {
                    ip.nfsRefreshMtime(attr.mtime());
                    if (ip.isReg() && ip.npages() == 0) {
                        ip.iSizeWrite(attr.size());
                    }
                    return ip;
                }
                icache.remove(attr.fh(), ip);
                continue;
            }
            long addr = kernel.mm().kmemCacheAlloc(nfsInodeCache, Gfp.GFP_KERNEL);
            if (addr == 0) {
                throw new VfsException(-Errno.ENOMEM, "nfs_alloc_inode(" + attr.fh() + ")");
            }
            NfsInode n = new NfsInode(sb, attr.fh(), attr.mode(), addr);
            n.setNlink(attr.nlink());
            n.nfsRefreshMtime(attr.mtime());
            n.iSizeWrite(attr.size());
            if (n.isReg()) {
                n.initMappingNfs(new NfsAops(this, n));
            }
            sb.iNew(n);
            if (icache.putIfAbsent(attr.fh(), n) == null) {
                return n;
            }
            sb.iput(n);
        }
    }

    @Override
    public Inode iget(SuperBlock s, long ino, int gfp) {
        RpcReply r = server.client().rpcCallSync(NfsProto.NFSPROC3_GETATTR, new NfsProto.FhArgs(ino), null);
        return r.status() < 0 ? null : nfsFhget((NfsProto.Fattr) r.result());
    }

    /** nfs_evict_inode(): the inode leaves the handle cache. */
    @Override
    public void evictInode(Inode inode) {
        icache.remove(((NfsInode) inode).fh(), inode);
    }

    /** nfs_destroy_inode(). */
    @Override
    public void destroyInode(Inode inode) {
        kernel.mm().kmemCacheFree(nfsInodeCache, ((NfsInode) inode).kmemAddr);
    }

    @Override
    public void putSuper(SuperBlock s) {
        server.client().rpcShutdownClient();
    }

    @Override
    public String toString() {
        return "nfs on " + sb.id();
    }
}
