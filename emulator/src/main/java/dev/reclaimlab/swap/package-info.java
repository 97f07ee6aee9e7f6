/**
 * Linux 2.2's memory management above the page allocator, for kernels booted as 2.2 (seed 004,
 * scenario kswiod-nbd): {@link dev.reclaimlab.swap.Mm22} holds it together. Conventions: every class
 * names the 2.2 file and functions it models; struct page's 2.2 fields live in {@link
 * dev.reclaimlab.swap.Page22} beside the core's mem_map (page->count is the core's refcount); page-cache
 * and swap-cache membership change under pagecache_lock, ptes under the mm's page_table_lock, swap_map
 * under swap_lock (2.2 used the big kernel lock for all three: the emulator's one systematic departure,
 * and lock order is page_table_lock, then swap_lock or pagecache_lock, never the reverse); allocation
 * goes through {@link dev.reclaimlab.swap.Mm22#getFreePage} with {@link dev.reclaimlab.mm.Gfp22} masks, so
 * 2.2's __get_free_pages() policy and try_to_free_pages() apply; every wait is a dev.reclaimlab.locking
 * sleep that names who ends it (a page's IO owner, kswiod, a semaphore's holder).
 */
package dev.reclaimlab.swap;
