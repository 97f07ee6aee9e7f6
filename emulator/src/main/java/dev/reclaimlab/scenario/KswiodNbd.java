package dev.reclaimlab.scenario;

import dev.reclaimlab.block.nbd.NbdDevice;
import dev.reclaimlab.block.nbd.NbdServer;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.swap.Kpiod;
import dev.reclaimlab.swap.Kswiod;

import java.util.List;

/**
 * Seed 004 (Stephen Tweedie to Linus, 10 January 1999) on Linux 2.2.1: an ext2 on nbd0 whose nbd-server is
 * an ordinary process on the same host. Writers allocate blocks under lock_super() and read block bitmaps
 * over nbd while holding it; processes dirty shared mappings of sparse files on that ext2 (each page over a
 * hole needs lock_super() to be written) and anonymous memory; memory is short, so everybody, the
 * nbd-server included, reclaims with 2.2's try_to_free_pages(). 2.2.1 writes a shared page in the
 * reclaiming task itself; Tweedie's kswiod (a reconstruction) moves page writes to one thread and keeps
 * 2.2's synchronous swap-out beyond 32 pages in flight (with PF_MEMALLOC, like kswapd; kswiod-no-memalloc
 * runs it without, as Tweedie posted kpiod); kpiod (2.2.2-pre2) queues shared-page writes and
 * never waits for them; nbd-noio adds the later rules for network block devices to kswiod.
 */
public final class KswiodNbd implements Scenario {
    @Override
    public String name() {
        return "kswiod-nbd";
    }

    @Override
    public String description() {
        return "ext2 on nbd0 served by a local nbd-server: swap-out under lock_super waits for the server, which reclaims";
    }

    @Override
    public KernelVersion version() {
        return KernelVersion.V2_2;
    }

    @Override
    public List<String> seeds() {
        return List.of("004_dc664fc9a2aaf49d.txt");
    }

    @Override
    public String lockdepBlindSpot() {
        return "Linux 2.2 had no lockdep (2.6.18): lock_super, i_sem and buffer and page locks are invisible to it, and"
                + " the cycle runs through nbd replies owed by another task; only the watchdog can prove it";
    }

    @Override
    public List<Variant> variants() {
        return List.of(
                Variant.release("linux-2.2.1", "the kernel as released: filemap_swapout() writes the page in the"
                        + " reclaiming task, the nbd-server included", Outcome.DEADLOCK),
                new Variant("linux-2.2-kswiod", "RECONSTRUCTION of Tweedie's proposal: page writes go to one"
                        + " kswiod thread (PF_MEMALLOC, like kswapd); a swap-out beyond 32 in flight waits for its"
                        + " page at kswiod", Outcome.DEADLOCK,
                        List.of(Kswiod.KSWIOD_PAGE_IO, Kswiod.KSWIOD_MEMALLOC)),
                new Variant("kswiod-no-memalloc", "the same RECONSTRUCTION with kswiod as Tweedie posted kpiod,"
                        + " without PF_MEMALLOC: kswiod's own allocations reclaim", Outcome.DEADLOCK,
                        List.of(Kswiod.KSWIOD_PAGE_IO)),
                new Variant("kpiod", "2.2.2-pre2: shared-page swap-out is queued to kpiod and never waited for",
                        Outcome.CLEAN, List.of(Kpiod.KPIOD)),
                new Variant("nbd-noio", "kswiod plus the later nbd rules: the nbd socket allocates without"
                        + " __GFP_IO under PF_MEMALLOC, the nbd-server is an IO flusher",
                        Outcome.DEADLOCK, List.of(Kswiod.KSWIOD_PAGE_IO, Kswiod.KSWIOD_MEMALLOC,
                                NbdDevice.NBD_SOCK_NOIO, NbdDevice.NBD_SOCK_MEMALLOC, NbdServer.IO_FLUSHER)));
    }

    @Override
    public Workload start(Kernel k, Variant v, long seed) {
        return KswiodNbdWorkload.start(k, seed);
    }
}
