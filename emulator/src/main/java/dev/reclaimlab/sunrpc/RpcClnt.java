package dev.reclaimlab.sunrpc;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Workqueue;
import dev.reclaimlab.locking.BitWaitTable;

import java.util.function.IntFunction;

/**
 * struct rpc_clnt (net/sunrpc/clnt.c, Linux 3.14) for one program over one loop-back transport, with the
 * workqueues 3.14 runs RPC work on: rpciod ({@code alloc_workqueue("rpciod", WQ_MEM_RECLAIM, 1)}) for task
 * steps and nfsiod ({@code alloc_workqueue("nfsiod", WQ_MEM_RECLAIM, 0)}) for async rpc_release.
 */
public final class RpcClnt {
    private final Kernel kernel;
    private final RpcXprt xprt;
    private final Workqueue rpciod;
    private final Workqueue nfsiod;
    private final BitWaitTable bits = new BitWaitTable(6);
    private final IntFunction<String> procNames;

    /** rpc_create() connected to {@code server} (xs_tcp_setup_socket() + svc_tcp_accept() on 127.0.0.1). */
    public RpcClnt(Kernel kernel, SvcXprt server, IntFunction<String> procNames) {
        this.kernel = kernel;
        this.procNames = procNames;
        this.rpciod = Workqueue.allocWorkqueue(kernel, "rpciod", Workqueue.WQ_MEM_RECLAIM, 1);
        this.nfsiod = Workqueue.allocWorkqueue(kernel, "nfsiod", Workqueue.WQ_MEM_RECLAIM, 0);
        this.xprt = new RpcXprt(server);
    }

    public Kernel kernel() {
        return kernel;
    }

    public RpcXprt xprt() {
        return xprt;
    }

    public Workqueue rpciod() {
        return rpciod;
    }

    public Workqueue nfsiod() {
        return nfsiod;
    }

    BitWaitTable bits() {
        return bits;
    }

    String procName(int proc) {
        return procNames.apply(proc);
    }

    /** A new call record for {@code proc}. */
    public RpcCall newCall(int proc, Object args, byte[] data) {
        return new RpcCall(xprt.nextXid(), proc, args, data);
    }

    /**
     * rpc_run_task(): starts the task (async on rpciod, or sync in the caller until it is done) and returns it
     * with the caller's reference, which the caller gives back with {@link RpcTask#rpcPutTask()}.
     */
    public RpcTask rpcRunTask(RpcCall call, RpcCallOps ops, Object calldata, boolean async) {
        RpcTask t = rpcNewTask(call, ops, calldata, async);
        t.rpcExecute();
        return t;
    }

    /** rpc_new_task() with the caller's reference: set up, not yet run ({@link RpcTask#rpcExecute()}). */
    public RpcTask rpcNewTask(RpcCall call, RpcCallOps ops, Object calldata, boolean async) {
        RpcTask t = new RpcTask(this, call, ops, calldata, async);
        t.get();
        return t;
    }

    /**
     * rpc_call_sync(): the reply of a sync task run in the caller (TASK_KILLABLE while it waits); a killed
     * caller gets a reply with status -EINTR.
     */
    public RpcReply rpcCallSync(int proc, Object args, byte[] data) {
        RpcTask t = rpcRunTask(newCall(proc, args, data), RpcCallOps.NONE, null, false);
        RpcReply r = t.reply();
        int status = t.status();
        t.rpcPutTask();
        if (r == null || status != r.status()) {
            return new RpcReply(t.call().xid(), status, null, null);
        }
        return r;
    }

    /** rpc_shutdown_client(): the workqueues go. */
    public void rpcShutdownClient() {
        rpciod.destroyWorkqueue();
        nfsiod.destroyWorkqueue();
    }
}
