package dev.reclaimlab.nfs;

import java.util.List;

/**
 * The NFSv3 procedures the loop-back mount uses (RFC 1813; fs/nfs/nfs3proc.c and fs/nfsd/nfs3proc.c, Linux
 * 3.14) and their arguments and results, decoded. A file handle is the exported inode's number. Statuses
 * are 0 or a negative errno (nfsd's nfserrno() and the client's nfs_stat_to_errno() are inverse maps).
 */
public final class NfsProto {
    public static final int NFSPROC3_GETATTR = 1;
    public static final int NFSPROC3_LOOKUP = 3;
    public static final int NFSPROC3_READ = 6;
    public static final int NFSPROC3_WRITE = 7;
    public static final int NFSPROC3_CREATE = 8;
    public static final int NFSPROC3_MKDIR = 9;
    public static final int NFSPROC3_REMOVE = 12;
    public static final int NFSPROC3_RMDIR = 13;
    public static final int NFSPROC3_READDIR = 16;
    public static final int NFSPROC3_COMMIT = 21;

    /** stable_how. */
    public static final int NFS_UNSTABLE = 0;
    public static final int NFS_FILE_SYNC = 2;

    private NfsProto() {
    }

    /** The procedure's name as rpc_show_tasks and nfsd's stats print it. */
    public static String procName(int proc) {
        switch (proc) {
            case NFSPROC3_GETATTR: return "GETATTR";
            case NFSPROC3_LOOKUP: return "LOOKUP";
            case NFSPROC3_READ: return "READ";
            case NFSPROC3_WRITE: return "WRITE";
            case NFSPROC3_CREATE: return "CREATE";
            case NFSPROC3_MKDIR: return "MKDIR";
            case NFSPROC3_REMOVE: return "REMOVE";
            case NFSPROC3_RMDIR: return "RMDIR";
            case NFSPROC3_READDIR: return "READDIR";
            case NFSPROC3_COMMIT: return "COMMIT";
            default: return "proc" + proc;
        }
    }

    /** fattr3, the part the client uses; mtime in nanoseconds (nfstime3). */
    public record Fattr(long fh, int mode, long size, int nlink, long mtime) {
    }

    /** LOOKUP3res: the object's attributes (null when the name is absent) and the directory's post-op ones. */
    public record LookupRes(Fattr obj, Fattr dirAttr) {
    }

    /** diropargs3: a name in a directory. */
    public record DirOpArgs(long dirFh, String name) {
    }

    /** GETATTR3args, READDIR3args. */
    public record FhArgs(long fh) {
    }

    /** READ3args. */
    public record ReadArgs(long fh, long offset, int count) {
    }

    /** READ3resok: the data travels as the reply's data. */
    public record ReadRes(int count, boolean eof, Fattr attr) {
    }

    /** WRITE3args: the data travels as the call's data. */
    public record WriteArgs(long fh, long offset, int count, int stable) {
    }

    /** WRITE3resok: how it was committed, and the server's write verifier (its boot time). */
    public record WriteRes(int count, int committed, long verf, Fattr attr) {
    }

    /** COMMIT3args. */
    public record CommitArgs(long fh, long offset, int count) {
    }

    /** COMMIT3resok. */
    public record CommitRes(long verf) {
    }

    /** READDIR3resok: each entry3's name and fileid, in the directory's order. */
    public record ReaddirRes(List<String> names, List<Long> fileids) {
        public ReaddirRes {
            if (names.size() != fileids.size()) {
                throw new IllegalArgumentException("READDIR reply: " + names.size() + " names, " + fileids.size()
                        + " fileids");
            }
        }
    }
}
