/**
 * net/sunrpc/ of Linux 3.14 over the loop-back interface: an RPC client ({@link dev.reclaimlab.sunrpc.RpcClnt},
 * rpc_tasks run by the rpciod workqueue), a transport whose records (a call or a reply with its data) go
 * through queues, and the server side ({@link dev.reclaimlab.sunrpc.SvcServ}: a pool of kthreads looping
 * svc_recv() and svc_process()).
 *
 * <p>Conventions. Records are carried whole, as TCP's record marking delivers them; a call's data is copied
 * out of its pages when it is sent. Every wait names who can end it: an rpc_task queued on rpciod is owed by
 * the work's workers, a sent call by the nfsd thread that took it or, before one did, by every thread of
 * the pool; a reply being completed by rpciod again. The server side is marked local (XPT_LOCAL, as "SUNRPC:
 * track whether a request is coming from a loop-back interface" added in 3.16) so a request knows it is
 * loop-back (rq_local). Flags of a task are changed only by the task itself; shared state is under the
 * pool's sp_lock (a spinlock: nothing sleeps or allocates under it) or in atomics.
 */
package dev.reclaimlab.sunrpc;
