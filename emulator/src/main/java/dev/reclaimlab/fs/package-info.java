/**
 * The VFS: superblocks, inodes and their LRU, the dcache (fs/dcache.c, negative dentries included), the
 * lookup side of fs/namei.c ({@link dev.reclaimlab.fs.Namei}) and the system calls a workload makes
 * ({@link dev.reclaimlab.fs.Vfs}); XFS and the NFS client plug in through
 * {@link dev.reclaimlab.fs.InodeOperations} and {@link dev.reclaimlab.fs.FileOperations}.
 *
 * <p>Conventions. Dentry and inode counts and the dcache's hash and LRU are under the superblock's spinlocks
 * (nothing sleeps or allocates under them). Name operations hold the parent directory's i_mutex (i_rwsem
 * from 4.7) across the dentry allocation, as the kernel does; __d_alloc() takes its gfp from the caller.
 * getdents64() ({@link dev.reclaimlab.fs.Readdir}) holds it across the copies into user memory
 * ({@link dev.reclaimlab.mm.UserBuffer}), whose first write to a page is a GFP_HIGHUSER_MOVABLE fault.
 * Errors reach callers as {@link dev.reclaimlab.fs.VfsException} with the errno; a misuse of the API (a
 * dentry of another directory, a lock not held) is an IllegalStateException or IllegalArgumentException
 * naming the object.
 */
package dev.reclaimlab.fs;
