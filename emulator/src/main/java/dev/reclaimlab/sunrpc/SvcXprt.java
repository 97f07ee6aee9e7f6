package dev.reclaimlab.sunrpc;

import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.WakerSink;
import org.jctools.queues.MpscUnboundedXaddArrayQueue;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * struct svc_xprt of the accepted loop-back TCP connection (net/sunrpc/svc_xprt.c, svcsock.c, Linux 3.14):
 * the records the client sent and no server thread has received yet, in a queue, and the flags: XPT_BUSY
 * (one thread receives from the transport at a time; it is cleared as soon as one record is taken, so the
 * next record can go to another thread while the first is served), XPT_DATA, and XPT_LOCAL (3.16's "SUNRPC:
 * track whether a request is coming from a loop-back interface": the connection's route is the loop-back
 * device), which svc_tcp_recvfrom() copies into each request as rq_local.
 */
public final class SvcXprt {
    public static final int XPT_BUSY = 0;
    public static final int XPT_DATA = 1;
    public static final int XPT_LOCAL = 13;

    private final SvcServ serv;
    private final MpscUnboundedXaddArrayQueue<RpcCall> records = new MpscUnboundedXaddArrayQueue<>(64);
    private final AtomicInteger flags = new AtomicInteger();
    private volatile RpcXprt client;

    SvcXprt(SvcServ serv) {
        this.serv = serv;
    }

    /** svc_tcp_accept(): the loop-back connection; sock_is_loopback() marks it XPT_LOCAL. */
    void connect(RpcXprt c) {
        this.client = c;
        flags.getAndUpdate(x -> x | (1 << XPT_LOCAL));
    }

    public boolean testFlag(int bit) {
        return (flags.get() & (1 << bit)) != 0;
    }

    /** test_and_set_bit(). */
    boolean testAndSetFlag(int bit) {
        return (flags.getAndUpdate(x -> x | (1 << bit)) & (1 << bit)) != 0;
    }

    void clearFlag(int bit) {
        flags.getAndUpdate(x -> x & ~(1 << bit));
    }

    /** svc_tcp_data_ready(): a record arrived; XPT_DATA and svc_xprt_enqueue(). */
    void svcTcpDataReady(RpcCall call) {
        records.offer(call);
        flags.getAndUpdate(x -> x | (1 << XPT_DATA));
        serv.svcXprtEnqueue(this);
    }

    /** svc_xprt_has_something_to_do(). */
    boolean hasSomethingToDo() {
        return !records.isEmpty();
    }

    /** svc_tcp_recvfrom(): one whole record, or null; by the thread that set XPT_BUSY. */
    RpcCall svcTcpRecvfrom(Task by) {
        RpcCall c = records.relaxedPoll();
        if (c != null) {
            c.setServedBy(by);
        }
        if (records.isEmpty()) {
            clearFlag(XPT_DATA);
        }
        return c;
    }

    /** svc_send() -> svc_tcp_sendto(): the reply goes back over the connection to the client. */
    void svcTcpSendto(RpcReply reply) {
        RpcXprt c = client;
        if (c != null) {
            c.xsTcpDataReady(reply);
        }
    }

    /** Records waiting to be received. */
    public int backlog() {
        return records.size();
    }

    /**
     * Who can produce the reply to {@code call}: the thread that received it, or, while it waits in the
     * transport, any thread of the pool (the next one back in svc_recv() takes it).
     */
    void callWakers(RpcCall call, WakerSink out) {
        Task by = call.servedBy();
        if (by != null) {
            out.add(by);
        } else {
            serv.threadWakers(out);
        }
    }
}
