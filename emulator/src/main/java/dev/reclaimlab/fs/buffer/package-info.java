/**
 * Linux 2.2's buffer cache (fs/buffer.c: getblk, bread, brw_page, try_to_free_buffers, bdflush and
 * update) and the 2.2 locks of include/linux/locks.h and asm/semaphore.h: lock_super() (a flag and a wait
 * queue, not recursive) and the 2.2.1 semaphore (recursive for its owner). Conventions: buffer lists
 * change under lru_list_lock (2.2: the big kernel lock); a task waiting on BH_Lock names the task that
 * owes the buffer's request; lockdep (2.6.18) does not see these locks.
 */
package dev.reclaimlab.fs.buffer;
