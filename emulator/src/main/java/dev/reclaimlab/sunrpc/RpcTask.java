package dev.reclaimlab.sunrpc;

import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.kernel.WorkStruct;
import dev.reclaimlab.locking.BitWord;
import dev.reclaimlab.locking.Sleep;
import dev.reclaimlab.locking.Waitable;
import dev.reclaimlab.locking.WakerSink;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * struct rpc_task (net/sunrpc/sched.c, Linux 3.14): one RPC from call to release. An async task runs its
 * steps as works on rpciod (rpc_async_schedule(), with PF_FSTRANS set in 3.14, so reclaim from rpciod never
 * waits in nfs_release_page()); a sync task transmits in the caller, which then sleeps TASK_KILLABLE on
 * RPC_TASK_QUEUED until the reply wakes it. RPC_TASK_ACTIVE stays set until the task completes:
 * rpc_wait_for_completion_task() sleeps TASK_KILLABLE on it. The caller of rpc_run_task() holds a second
 * reference; whoever puts the last one runs rpc_release (3.14: the caller's own rpc_put_task() inline, rpciod's
 * final put queued on the task's workqueue, nfsiod).
 *
 * <p>Who can end a wait on the task, by its phase: queued on rpciod, the work's workers; sent, the server
 * thread that took the call or, before one did, every thread of the server's pool; done, nobody needs to.
 */
public final class RpcTask implements BitWord, Waitable {
    /**
     * "NFS/SUNRPC: Remove other deadlock-avoidance mechanisms in nfs_release_page()" (5/5 of the September
     * 2014 series, 3.18): rpc_async_schedule() no longer sets PF_FSTRANS; the bounded wait in
     * nfs_release_page() makes it unnecessary.
     */
    public static final Fix RPCIOD_NO_FSTRANS = Fix.declare("rpciod_no_fstrans",
            "rpc_async_schedule() runs rpc_task steps without PF_FSTRANS",
            "NFS/SUNRPC: Remove other deadlock-avoidance mechanisms in nfs_release_page() (NeilBrown, 3.18)",
            new KernelVersion(3, 18));

    public static final int RPC_TASK_RUNNING = 0;
    public static final int RPC_TASK_QUEUED = 1;
    public static final int RPC_TASK_ACTIVE = 2;

    enum Phase { PREPARE, QUEUED_TRANSMIT, SENT, QUEUED_EXIT, DONE }

    private final RpcClnt clnt;
    private final RpcCall call;
    private final RpcCallOps ops;
    private final Object calldata;
    private final boolean async;
    private final AtomicInteger runstate = new AtomicInteger();
    private final AtomicInteger count = new AtomicInteger(1);
    private final WorkStruct work;
    private volatile Phase phase = Phase.PREPARE;
    private volatile RpcReply reply;
    private volatile int status;
    private volatile Task owner;
    private volatile boolean abandoned;
    /** rpc_async_release queued on nfsiod by rpciod's final put, until it ran. */
    private volatile WorkStruct releaseWork;

    RpcTask(RpcClnt clnt, RpcCall call, RpcCallOps ops, Object calldata, boolean async) {
        this.clnt = clnt;
        this.call = call;
        this.ops = ops == null ? RpcCallOps.NONE : ops;
        this.calldata = calldata;
        this.async = async;
        this.work = new WorkStruct("rpc_async_schedule", this::rpcAsyncSchedule);
    }

    public RpcCall call() {
        return call;
    }

    /** The reply once it arrived, else null. */
    public RpcReply reply() {
        return reply;
    }

    /** tk_status: 0, or a negative errno (-EINTR when the caller was killed). */
    public int status() {
        return status;
    }

    public Object calldata() {
        return calldata;
    }

    public boolean isAsync() {
        return async;
    }

    @Override
    public String name() {
        return "rpc_task " + clnt.procName(call.proc()) + " " + call;
    }

    /**
     * rpc_execute(): an async task goes to rpciod; a sync one runs in the caller until the reply is done.
     * Once, for a task from {@link RpcClnt#rpcNewTask}.
     */
    public void rpcExecute() {
        Task t = Task.current();
        owner = t;
        runstate.getAndUpdate(x -> x | (1 << RPC_TASK_ACTIVE));
        if (async) {
            phase = Phase.QUEUED_TRANSMIT;
            clnt.rpciod().queueWork(work);
            return;
        }
        callTransmit();
        // __rpc_execute(): out_of_line_wait_on_bit(RPC_TASK_QUEUED, rpc_wait_bit_killable, TASK_KILLABLE).
        if (clnt.bits().waitOnBit(t, key(), this, RPC_TASK_QUEUED, Task.TASK_KILLABLE, -1) == Sleep.KILLED) {
            abandon();
            return;
        }
        rpcExitTask(false);
    }

    /** rpc_async_schedule(): one step on rpciod, with PF_FSTRANS as 3.14 sets it around __rpc_execute(). */
    private void rpcAsyncSchedule() {
        Task t = Task.current();
        boolean fstrans = !t.kernel().config().has(RPCIOD_NO_FSTRANS);
        int saved = t.flags() & TaskFlags.PF_FSTRANS;
        if (fstrans) {
            t.setFlags(t.flags() | TaskFlags.PF_FSTRANS);
        }
        try {
            if (phase == Phase.QUEUED_TRANSMIT) {
                callTransmit();
            } else if (phase == Phase.QUEUED_EXIT) {
                rpcExitTask(true);
            }
        } finally {
            if (fstrans) {
                t.setFlags((t.flags() & ~TaskFlags.PF_FSTRANS) | saved);
            }
        }
    }

    /** call_reserve() + call_transmit(): a slot, then the record onto the transport; the task waits on xprt->pending. */
    private void callTransmit() {
        clnt.xprt().xprtReserve();
        runstate.getAndUpdate(x -> x | (1 << RPC_TASK_QUEUED));
        phase = Phase.SENT;
        clnt.xprt().xprtTransmit(this);
    }

    /** xprt_complete_rqst(): the reply is here; rpc_wake_up_queued_task() makes the task runnable. */
    void xprtCompleteRqst(RpcReply r) {
        reply = r;
        phase = Phase.QUEUED_EXIT;
        runstate.getAndUpdate(x -> x & ~(1 << RPC_TASK_QUEUED));
        if (async) {
            clnt.rpciod().queueWork(work);
        } else {
            clnt.bits().wakeUpBit(key());
        }
    }

    /** call_decode, rpc_call_done, rpc_exit_task, rpc_release_task: completes the task and drops its reference. */
    private void rpcExitTask(boolean onRpciod) {
        RpcReply r = reply;
        status = r == null ? -Errno.EIO : r.status();
        ops.rpcCallDone(this);
        rpcReleaseTask(onRpciod);
    }

    /** rpc_release_task(): frees the slot, clears RPC_TASK_ACTIVE (waking the completion waiter), puts. */
    private void rpcReleaseTask(boolean onRpciod) {
        clnt.xprt().xprtRelease();
        phase = Phase.DONE;
        runstate.getAndUpdate(x -> x & ~(1 << RPC_TASK_ACTIVE));
        clnt.bits().wakeUpBit(key());
        rpcPutTask(onRpciod);
    }

    /** A sync caller killed before its reply: the call is abandoned (its reply, if it comes, is dropped). */
    private void abandon() {
        abandoned = true;
        status = -Errno.EINTR;
        clnt.xprt().xprtForget(this);
        rpcReleaseTask(false);
    }

    boolean abandoned() {
        return abandoned;
    }

    /**
     * rpc_put_task(): the last reference runs rpc_release; rpciod's final put hands it to nfsiod
     * (rpc_final_put_task(task, task->tk_workqueue)), anyone else's runs it inline.
     */
    public void rpcPutTask() {
        rpcPutTask(false);
    }

    private void rpcPutTask(boolean onRpciod) {
        if (count.decrementAndGet() != 0) {
            return;
        }
        if (onRpciod && clnt.nfsiod() != null) {
            WorkStruct w = new WorkStruct("rpc_async_release", () -> ops.rpcRelease(this));
            releaseWork = w;
            clnt.nfsiod().queueWork(w);
        } else {
            ops.rpcRelease(this);
        }
    }

    /** The caller's reference (rpc_run_task()'s atomic_inc(&task->tk_count)). */
    void get() {
        count.incrementAndGet();
    }

    /** rpc_wait_for_completion_task(): TASK_KILLABLE until RPC_TASK_ACTIVE clears; 0 or -EINTR. */
    public int rpcWaitForCompletionTask() {
        Task t = Task.current();
        return clnt.bits().waitOnBit(t, key(), this, RPC_TASK_ACTIVE, Task.TASK_KILLABLE, -1) == Sleep.KILLED
                ? -Errno.EINTR : 0;
    }

    private long key() {
        return System.identityHashCode(this);
    }

    @Override
    public boolean testBit(int bit) {
        return (runstate.get() & (1 << bit)) != 0;
    }

    @Override
    public boolean testAndSetBit(int bit) {
        return (runstate.getAndUpdate(x -> x | (1 << bit)) & (1 << bit)) != 0;
    }

    @Override
    public String bitName(int bit) {
        String b = bit == RPC_TASK_ACTIVE ? "RPC_TASK_ACTIVE" : bit == RPC_TASK_QUEUED ? "RPC_TASK_QUEUED"
                : "RPC_TASK_RUNNING";
        return b + " of rpc_task " + clnt.procName(call.proc()) + " " + call;
    }

    @Override
    public void bitWakers(int bit, WakerSink out) {
        wakers(out);
    }

    /** Who can move the task on now; see the class comment. */
    @Override
    public void wakers(WakerSink out) {
        switch (phase) {
            case PREPARE:
                out.add(owner);
                break;
            case QUEUED_TRANSMIT:
                work.wakers(out);
                break;
            case SENT:
                clnt.xprt().callWakers(call, out);
                break;
            case QUEUED_EXIT:
                if (async) {
                    work.wakers(out);
                } else {
                    out.add(owner);
                }
                break;
            default:
                WorkStruct w = releaseWork;
                if (w != null) {
                    w.wakers(out);
                }
                break;
        }
    }

    @Override
    public String toString() {
        return "rpc_task " + clnt.procName(call.proc()) + " " + call + " (" + phase + ")";
    }
}
