package dev.reclaimlab.sunrpc;

import dev.reclaimlab.kernel.Task;

/**
 * One call record on the wire (struct rpc_rqst's send buffer, net/sunrpc as in Linux 3.14): the transaction
 * id, the procedure, its arguments and the data pages' bytes (a WRITE's payload). {@link #servedBy} is the
 * server thread that received it, so a wait for its reply can name that thread.
 */
public final class RpcCall {
    private final int xid;
    private final int proc;
    private final Object args;
    private final byte[] data;
    private volatile Task servedBy;

    public RpcCall(int xid, int proc, Object args, byte[] data) {
        this.xid = xid;
        this.proc = proc;
        this.args = args;
        this.data = data;
    }

    public int xid() {
        return xid;
    }

    public int proc() {
        return proc;
    }

    public Object args() {
        return args;
    }

    /** The call's data (a WRITE's bytes), or null. */
    public byte[] data() {
        return data;
    }

    /** The server thread that received the record, or null while it waits in the transport. */
    public Task servedBy() {
        return servedBy;
    }

    void setServedBy(Task t) {
        this.servedBy = t;
    }

    @Override
    public String toString() {
        return "xid 0x" + Integer.toHexString(xid) + " proc " + proc;
    }
}
