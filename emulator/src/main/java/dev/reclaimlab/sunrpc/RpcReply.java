package dev.reclaimlab.sunrpc;

/**
 * One reply record (net/sunrpc as in Linux 3.14): the call's xid, the procedure's status (0, or a negative
 * errno as nfsd maps nfsstat3 back, e.g. -EIO for NFS3ERR_IO), its result and data (a READ's bytes).
 */
public record RpcReply(int xid, int status, Object result, byte[] data) {
}
