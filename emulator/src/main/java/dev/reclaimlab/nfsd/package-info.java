/**
 * fs/nfsd/ of Linux 3.14: the NFS server threads ({@link dev.reclaimlab.nfsd.Nfsd}, rpc.nfsd N) serving an
 * exported local filesystem over {@link dev.reclaimlab.sunrpc}, and the procedures as fs/nfsd/vfs.c does
 * them ({@link dev.reclaimlab.nfsd.NfsdVfs}): LOOKUP, CREATE, MKDIR, REMOVE and RMDIR lock the parent with
 * fh_lock_nested(fhp, I_MUTEX_PARENT) (the local directory's i_mutex, uninterruptible) and allocate under
 * it through lookup_one_len() and __d_alloc(GFP_KERNEL) when the name has no dentry (the negative dentry
 * an earlier LOOKUP or REMOVE left answers without allocating); READDIR takes it killable; WRITE goes through the
 * local filesystem's write path into its page cache with dirty throttling; COMMIT is vfs_fsync_range().
 *
 * <p>Conventions. A file handle is the exported inode's number; the server keeps a referenced dentry for
 * every handle it gave out (as exportfs would find it again) until the name is removed (a REMOVE gives it
 * up before vfs_unlink(), so that the dentry turns negative as 3.14's would). Errors go back as
 * negative errnos in the reply (nfserrno()); nothing the client sends can crash a thread: a bad handle is
 * -ESTALE, a bad argument -EINVAL.
 */
package dev.reclaimlab.nfsd;
