package dev.reclaimlab.sunrpc;

/**
 * struct rpc_call_ops (include/linux/sunrpc/sched.h, Linux 3.14): what the caller of an rpc_task does at its
 * steps.
 */
public interface RpcCallOps {
    /** rpc_call_done: the reply is decoded (task.status() and task.reply() are set); runs in rpciod for async tasks. */
    void rpcCallDone(RpcTask task);

    /** rpc_release: after the last reference; runs in the context of whoever puts it last. */
    default void rpcRelease(RpcTask task) {
    }

    RpcCallOps NONE = task -> { };

    /** Ops that do nothing when the reply is decoded and run {@code release} at rpc_release. */
    static RpcCallOps onRelease(java.util.function.Consumer<RpcTask> release) {
        return new RpcCallOps() {
            @Override
            public void rpcCallDone(RpcTask task) {
            }

            @Override
            public void rpcRelease(RpcTask task) {
                release.accept(task);
            }
        };
    }
}
