package dev.reclaimlab.sunrpc;

/** struct svc_version's dispatch (nfsd_dispatch(), Linux 3.14): serves one received call and returns its reply. */
public interface SvcProgram {
    RpcReply dispatch(SvcRqst rqstp, RpcCall call);

    /** The procedure's name for reports ("COMMIT"). */
    String procName(int proc);
}
