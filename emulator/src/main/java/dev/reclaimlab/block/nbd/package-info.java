/**
 * The network block device of Linux 2.2 with both ends on one host: the nbd0 client driver (requests sent
 * in the submitter's context), the nbd-client task in NBD_DO_IT, the nbd-server user process serving a file
 * on a local ext2, and the loop-back socket between them (bounded send buffers, skbs allocated by senders
 * with the socket's gfp mask and freed by readers). Later kernels' rules for network block devices are
 * declared fixes here (nbd_sock_noio, nbd_sock_memalloc, io_flusher_server).
 */
package dev.reclaimlab.block.nbd;
