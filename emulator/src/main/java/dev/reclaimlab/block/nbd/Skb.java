package dev.reclaimlab.block.nbd;

/**
 * One message on the loop-back socket: a page allocated by the sender with the socket's allocation mask
 * (sk->allocation), holding an nbd header and its data, freed by the receiver once it has copied it out.
 * 2.2's TCP queued one skb per sendmsg chunk; a message here is one skb, so two requests never interleave.
 */
final class Skb {
    final int pfn;
    final long kaddr;
    final int len;

    Skb(int pfn, long kaddr, int len) {
        this.pfn = pfn;
        this.kaddr = kaddr;
        this.len = len;
    }
}
