package dev.reclaimlab.scenario;

import dev.reclaimlab.block.RamDisk;
import dev.reclaimlab.block.nbd.NbdClient;
import dev.reclaimlab.block.nbd.NbdDevice;
import dev.reclaimlab.block.nbd.NbdServer;
import dev.reclaimlab.block.nbd.NbdSocket;
import dev.reclaimlab.block.request.IdeDisk;
import dev.reclaimlab.fs.ext2.Ext2File;
import dev.reclaimlab.fs.ext2.Ext2Fs;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.swap.Mm22;

/**
 * One Linux 2.2 host of seed 004: a swap partition (hda2) and a local disk with an ext2 (hda1) holding
 * the export file, an nbd-server serving that file over a loop-back socket to the nbd0 client device,
 * whose nbd-client task receives the replies, and an ext2 on nbd0. Disks are RAM disks outside the
 * kernel's memory budget, optionally with a 1999 disk's service time per request (see {@link IdeDisk}).
 */
public final class Nbd22Host {
    private final Kernel kernel;
    private final Mm22 mm;
    private final RamDisk swapMedium;
    private final RamDisk localMedium;
    private final IdeDisk swapDisk;
    private final IdeDisk localDisk;
    private final Ext2Fs localFs;
    private final Ext2File export;
    private final NbdSocket socket;
    private final NbdDevice nbd;
    private final NbdServer server;
    private final NbdClient client;
    private final Ext2Fs fs;

    private Nbd22Host(Kernel k, long nbdBytes, long swapBytes, long swapServiceMicros, long localServiceMicros) {
        this.kernel = k;
        k.currentTask();
        this.mm = Mm22.boot(k);
        this.swapMedium = new RamDisk(k, 0, swapBytes);
        this.swapDisk = new IdeDisk(mm.blk(), "hda2", swapMedium, PhysMem.PAGE_SIZE, swapServiceMicros);
        mm.swapon(swapDisk);
        long localBytes = nbdBytes + nbdBytes / 4 + (8L << 20);
        this.localMedium = new RamDisk(k, 1, localBytes);
        this.localDisk = new IdeDisk(mm.blk(), "hda1", localMedium, 1024, localServiceMicros);
        this.localFs = Ext2Fs.mkfs(mm, localDisk);
        this.export = localFs.create(null, "nbd0.img");
        export.ftruncate(nbdBytes);
        this.socket = new NbdSocket(mm);
        this.nbd = new NbdDevice(mm, 0, nbdBytes);
        this.server = NbdServer.start(mm, export, socket);
        this.client = NbdClient.start(k, nbd, socket);
        this.fs = Ext2Fs.mkfs(mm, nbd);
    }

    /** Builds the host on {@code k}, which must be booted as 2.2; every disk ends a request when started. */
    public static Nbd22Host build(Kernel k, long nbdBytes, long swapBytes) {
        return new Nbd22Host(k, nbdBytes, swapBytes, 0, 0);
    }

    /**
     * The same host with disks that take time: {@code swapServiceMicros} for each request to the swap disk
     * (hda2), {@code localServiceMicros} for each to the local disk (hda1) that holds the export.
     */
    public static Nbd22Host build(Kernel k, long nbdBytes, long swapBytes, long swapServiceMicros,
            long localServiceMicros) {
        return new Nbd22Host(k, nbdBytes, swapBytes, swapServiceMicros, localServiceMicros);
    }

    public Kernel kernel() {
        return kernel;
    }

    public Mm22 mm() {
        return mm;
    }

    public IdeDisk swapDisk() {
        return swapDisk;
    }

    public IdeDisk localDisk() {
        return localDisk;
    }

    public RamDisk localMedium() {
        return localMedium;
    }

    public Ext2Fs localFs() {
        return localFs;
    }

    /** The nbd-server's export file on the local ext2. */
    public Ext2File export() {
        return export;
    }

    public NbdDevice nbd() {
        return nbd;
    }

    public NbdServer server() {
        return server;
    }

    public NbdClient client() {
        return client;
    }

    public NbdSocket socket() {
        return socket;
    }

    /** The ext2 on nbd0. */
    public Ext2Fs fs() {
        return fs;
    }
}
