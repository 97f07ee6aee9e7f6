/**
 * Linux 2.2's request layer (drivers/block/ll_rw_blk.c): ll_rw_block() on buffer heads, one global pool of
 * NR_REQUEST requests, the plug and tq_disk, end_request(), and a local disk driver over a RAM disk that
 * ends a request when it is started or, given a service time, through a worker that plays the interrupt.
 * Conventions: a request always says who owes its end (its sender, the nbd client, the disk's worker) or
 * that it waits behind a plug; queues change under io_request_lock.
 */
package dev.reclaimlab.block.request;
