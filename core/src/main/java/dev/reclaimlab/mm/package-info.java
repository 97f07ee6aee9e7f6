/**
 * mm/: physical memory and mem_map off-heap, the buddy allocator with per-CPU lists, SLUB and kmalloc, the
 * page cache with its XArray index, the LRU, reclaim, kswapd, writeback and their counters.
 *
 * <p>Conventions.
 * <ul>
 * <li>A page is its pfn, an int; {@code -1} ({@link dev.reclaimlab.mm.PageAlloc#NULL_PAGE}) is NULL. A
 *     kernel address is a long in the 0xffff888000000000 direct map; 0 is NULL. Every pfn and address
 *     that comes from a caller is checked against this kernel's memory (and that the kernel is not
 *     closed) before Unsafe sees it, once, at the public method; package-private paths inside are
 *     unchecked. A refusal names the object and the reason, and builds its message only when it throws.
 *     Native memory outside the kernel's budget crosses the API only as a
 *     {@link dev.reclaimlab.mm.NativeRegion}, never as a raw address.</li>
 * <li>Functions that can fail return a negative {@link dev.reclaimlab.kernel.Errno} (or NULL for
 *     allocations, with {@link dev.reclaimlab.mm.AllocFailure} saying why), as the kernel does.</li>
 * <li>Per-CPU data (pcp lists, SLUB's CPU slabs, vmstat diffs) is touched only between getCpu() and
 *     putCpu() by the CPU's holder.</li>
 * <li>Lock order, outermost first: the page lock (PG_locked, sleeping); a mapping's xa_lock, then the
 *     workingset's shadow-node list lock (the shadow shrinker only trylocks xa_lock under it); zone->lock,
 *     kmem_cache_node list_lock, then a slab's slab_lock (bit spin lock), then lru_lock (raw spinlocks,
 *     never held across a sleep). xa_lock is held across an allocation only in radixTreeInsert()'s
 *     GFP_ATOMIC fallback when the CPU's preload is empty, as 4.3's radix_tree_node_alloc() did. Direct
 *     reclaim runs under PF_MEMALLOC and, for lockdep, the version's reclaim annotation (RECLAIM_FS state
 *     before 4.14, the fs_reclaim map after).</li>
 * <li>Version-dependent behaviour on the allocation and read paths is a declared Fix beside its code
 *     (Readahead.OBEY_MAPPING_GFP, PageAlloc.SHOULD_RECLAIM_RETRY, Vmscan.CURRENT_MAY_THROTTLE); the classes
 *     say which release they follow.</li>
 * <li>Every throttle timeout is written in jiffies and converted by Kernel.jiffiesToNanos() (HZ = 100;
 *     compressed tenfold from 4.3, kernel.Jiffies.COMPRESSED_TIME). Each reclaim or dirty throttle sleeps in
 *     a locking.Throttle named for the kernel function and its caller, so a stall report says where time
 *     went. Congestion state (BackingDev, ZoneFlags) is atomics only; clear_bdi_congested() may be called
 *     from any context, a completion's included, and never sleeps.</li>
 * <li>User memory is a {@link dev.reclaimlab.mm.UserBuffer}, one task's: the kernel reaches it only through
 *     copy_to_user()/copy_from_user() with user offsets, checked as access_ok() checks them, and a first write
 *     to a page allocates it (do_anonymous_page(), GFP_HIGHUSER_MOVABLE) in the writing task's context.</li>
 * <li>Allocation fast paths allocate nothing on the Java heap and take no lock. Fault injection
 *     ({@link dev.reclaimlab.mm.Failslab}, {@link dev.reclaimlab.mm.FailPageAlloc}) costs them one read of
 *     a probability while it is off.</li>
 * </ul>
 */
package dev.reclaimlab.mm;
