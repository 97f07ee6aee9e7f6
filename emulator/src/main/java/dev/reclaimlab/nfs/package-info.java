/**
 * fs/nfs/ of Linux 3.14, NFSv3 over {@link dev.reclaimlab.sunrpc}: a client filesystem whose page cache
 * holds nfs_page requests. A written page is dirty and PagePrivate; writeback gathers contiguous pages into
 * WRITEs of up to wsize ({@link dev.reclaimlab.nfs.NfsPageio}; async, rpciod), UNSTABLE unless one lone WRITE
 * is all there is; the reply puts each request on the inode's commit list (clean, PagePrivate,
 * NR_UNSTABLE_NFS) until a COMMIT with the server's verifier returns, whose release clears PagePrivate and
 * then NFS_INO_COMMIT. Reclaim meets such pages in {@link dev.reclaimlab.nfs.NfsFile#nfsReleasePage}.
 *
 * <p>Conventions. An inode's requests, commit list and counters are under its i_lock (a spinlock: nothing
 * sleeps or allocates under it). NFS_INO_COMMIT is a bit of the inode's flags, waited on TASK_KILLABLE as
 * 3.14 does; its waiters name the commit's rpc_task (or, before it runs, the task taking the commit), so the
 * watchdog follows the wait through the RPC to the nfsd thread that owes the reply; a page under an async
 * readahead READ ({@link dev.reclaimlab.nfs.NfsRead}) is locked, its unlock owed by that READ. Sync RPCs
 * (LOOKUP, CREATE, REMOVE, READDIR, a READ of one page) run in the caller, TASK_KILLABLE. Errors from the
 * server come back as negative errnos; a WRITE or COMMIT error is kept in the inode and reported by the next
 * fsync or close.
 */
package dev.reclaimlab.nfs;
