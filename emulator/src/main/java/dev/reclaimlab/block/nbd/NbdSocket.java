package dev.reclaimlab.block.nbd;

import dev.reclaimlab.swap.Mm22;

/**
 * The TCP connection between the nbd client device and nbd-server on the same host, as a pair of
 * loop-back streams; SK_WMEM_MAX (65535 bytes in 2.2) of send buffer each way.
 */
public final class NbdSocket {
    static final long SK_WMEM_MAX = 65535;

    final SkbStream toServer;
    final SkbStream toClient;

    public NbdSocket(Mm22 mm) {
        SkbCache skbs = new SkbCache(mm);
        this.toServer = new SkbStream(skbs, "nbd0 -> nbd-server", SK_WMEM_MAX);
        this.toClient = new SkbStream(skbs, "nbd-server -> nbd0", SK_WMEM_MAX);
    }

    /** Both directions shut: every wait on the socket ends. */
    public void close() {
        toServer.close();
        toClient.close();
    }

    public boolean closed() {
        return toServer.closed() && toClient.closed();
    }
}
