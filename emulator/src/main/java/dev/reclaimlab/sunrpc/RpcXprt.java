package dev.reclaimlab.sunrpc;

import dev.reclaimlab.locking.WakerSink;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * struct rpc_xprt over the loop-back connection (net/sunrpc/xprt.c, xprtsock.c, Linux 3.14): the slot table
 * and the calls awaiting a reply. TCP's slot table starts at RPC_MIN_SLOT_TABLE and grows with GFP_NOWAIT up
 * to tcp_max_slot_table_entries (RPC_MAX_SLOT_TABLE), so it bounds nothing here; the count is kept for
 * reports. xs_tcp_send_request() copies the record to the socket, which is the server's transport queue.
 */
public final class RpcXprt {
    /** RPC_MAX_SLOT_TABLE: tcp_max_slot_table_entries' default. */
    public static final int RPC_MAX_SLOT_TABLE = 65536;

    private final SvcXprt server;
    private final AtomicInteger nextXid = new AtomicInteger(0x5eed0000);
    private final ConcurrentHashMap<Integer, RpcTask> pending = new ConcurrentHashMap<>();
    private final AtomicInteger slotsInUse = new AtomicInteger();
    private volatile int maxSlotsUsed;

    RpcXprt(SvcXprt server) {
        this.server = server;
        server.connect(this);
    }

    int nextXid() {
        return nextXid.incrementAndGet();
    }

    /** xprt_reserve() -> xprt_alloc_slot(): TCP's table grows as needed (GFP_NOWAIT). */
    void xprtReserve() {
        int n = slotsInUse.incrementAndGet();
        if (n > RPC_MAX_SLOT_TABLE) {
            slotsInUse.decrementAndGet();
            throw new IllegalStateException("rpc_xprt: more than " + RPC_MAX_SLOT_TABLE + " calls in flight");
        }
        if (n > maxSlotsUsed) {
            maxSlotsUsed = n;
        }
    }

    /** xprt_release(): the slot goes back. */
    void xprtRelease() {
        slotsInUse.decrementAndGet();
    }

    /** Calls in flight now, and the most there were. */
    public int slotsInUse() {
        return slotsInUse.get();
    }

    public int maxSlotsUsed() {
        return maxSlotsUsed;
    }

    /** xprt_transmit(): the task waits on xprt->pending for its xid; the record goes to the server. */
    void xprtTransmit(RpcTask task) {
        pending.put(task.call().xid(), task);
        server.svcTcpDataReady(task.call());
    }

    void xprtForget(RpcTask task) {
        pending.remove(task.call().xid(), task);
    }

    /** xs_tcp_data_ready() -> xprt_lookup_rqst() + xprt_complete_rqst(): a reply for a call we still wait for. */
    void xsTcpDataReady(RpcReply reply) {
        RpcTask t = pending.remove(reply.xid());
        if (t != null && !t.abandoned()) {
            t.xprtCompleteRqst(reply);
        }
    }

    /** Who can produce the reply to {@code call}: see {@link SvcXprt#callWakers}. */
    void callWakers(RpcCall call, WakerSink out) {
        server.callWakers(call, out);
    }
}
