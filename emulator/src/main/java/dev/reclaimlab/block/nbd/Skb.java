package dev.reclaimlab.block.nbd;

/**
 * One message on the loop-back socket: an nbd header and its data in a 2 KiB skb buffer that the sender
 * allocated with the socket's allocation mask (sk->allocation) and the reader frees once it has copied it
 * out. 2.2's TCP queued one skb per sendmsg chunk; a message here is one skb, so two requests never
 * interleave.
 */
final class Skb {
    final long kaddr;
    final int len;

    Skb(long kaddr, int len) {
        this.kaddr = kaddr;
        this.len = len;
    }
}
