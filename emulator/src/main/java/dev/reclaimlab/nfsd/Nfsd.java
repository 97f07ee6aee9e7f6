package dev.reclaimlab.nfsd;

import dev.reclaimlab.fs.Dentry;
import dev.reclaimlab.fs.SuperBlock;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.locking.Lockdep;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.sunrpc.RpcCall;
import dev.reclaimlab.sunrpc.SvcRqst;
import dev.reclaimlab.sunrpc.SvcServ;
import dev.reclaimlab.sunrpc.SvcXprt;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The nfsd service (fs/nfsd/nfssvc.c, Linux 3.14) exporting one local filesystem: {@code rpc.nfsd N}
 * threads, each running nfsd(): PF_LESS_THROTTLE for life (until 3.16's
 * {@link #NFSD_LESS_THROTTLE_WHEN_NEEDED}), no PF_FSTRANS and no memalloc scope, then
 * svc_recv() and svc_process() for ever. The RFC's two switches for loop-back requests act around
 * svc_process() here.
 */
public final class Nfsd {
    /**
     * RFC 06/19 "nfsd: set PF_FSTRANS for nfsd threads." (NeilBrown, April 2014, never merged): a thread
     * serving a loop-back request (rq_local) holds PF_FSTRANS for it; the first two threads that do keep it
     * for good (sp_nr_fstrans starts at -2), so some thread always allocates NOFS in svc_alloc_arg() too.
     */
    public static final Fix NFSD_PF_FSTRANS = Fix.declare("nfsd_pf_fstrans",
            "nfsd holds PF_FSTRANS while serving loop-back requests; two threads keep it for good",
            "RFC 06/19 nfsd: set PF_FSTRANS for nfsd threads (NeilBrown, 2014; never merged)", null);
    /**
     * The lockdep half of RFC 06/19: nfsd serving a loop-back request runs under
     * lockdep_set_current_reclaim_state(GFP_KERNEL), so every lock it takes counts as taken in fs reclaim
     * (IN-RECLAIM_FS) — which is how NeilBrown found 11 of these deadlocks.
     */
    public static final Fix NFSD_LOCKDEP_RECLAIM = Fix.declare("nfsd_lockdep_reclaim",
            "lockdep counts nfsd's handling of a loop-back request as fs reclaim context",
            "RFC 06/19 nfsd: set PF_FSTRANS for nfsd threads, lockdep_set_current_reclaim_state() (2014)", null);

    /**
     * 8658452e4a58 "nfsd: Only set PF_LESS_THROTTLE when really needed." (NeilBrown, 3.16): nfsd() no longer
     * sets PF_LESS_THROTTLE for the thread's life; nfsd_vfs_write() (NfsdVfs) sets it only while serving a
     * WRITE that came over loop-back (rq_local), for the write and its optional sync, then restores the bit.
     */
    public static final Fix NFSD_LESS_THROTTLE_WHEN_NEEDED = Fix.declare("nfsd_less_throttle_when_needed",
            "nfsd is PF_LESS_THROTTLE only while it serves a loop-back WRITE, not for the thread's life",
            "8658452e4a58 nfsd: Only set PF_LESS_THROTTLE when really needed (NeilBrown, 3.16)",
            new KernelVersion(3, 16));

    /** NFSSVC_MAXBLKSIZE: 1 MiB. */
    static final int NFSSVC_MAXBLKSIZE = 1 << 20;

    private final Kernel kernel;
    private final SuperBlock sb;
    private final NfsdVfs procs;
    private final SvcServ serv;
    private final int maxBlksize;
    /** sp_nr_fstrans of RFC 06/19. */
    private final AtomicInteger spNrFstrans = new AtomicInteger(-2);

    private Nfsd(Kernel kernel, Vfs export) {
        this.kernel = kernel;
        this.sb = export.sb();
        this.maxBlksize = nfsdDefaultBlksize(kernel.mm().pageAlloc().managedPages());
        this.procs = new NfsdVfs(kernel, export);
        this.serv = new SvcServ(kernel, "nfsd", procs, maxBlksize + PhysMem.PAGE_SIZE);
    }

    /**
     * exportfs + rpc.nfsd {@code threads}: exports {@code export}'s filesystem and starts the threads. The
     * superblock is marked exported (its directory locks are ones nfsd may need).
     */
    public static Nfsd start(Kernel kernel, Vfs export, int threads) {
        kernel.currentTask();
        Nfsd n = new Nfsd(kernel, export);
        n.sb.setExported(true);
        // 3.14's nfsd(): "We want less throttling in balance_dirty_pages()", set once for the thread's life.
        int flags = kernel.config().has(NFSD_LESS_THROTTLE_WHEN_NEEDED) ? 0 : TaskFlags.PF_LESS_THROTTLE;
        n.serv.svcSetNumThreads(threads, flags, n::nfsd);
        return n;
    }

    /**
     * nfsd_create_serv()'s default nfsd_max_blksize: NFSSVC_MAXBLKSIZE halved while it exceeds the machine's
     * RAM in 4 KiB pages ("1/4096 of memory per thread"), not below 16 KiB: 16 KiB on a 64 MiB machine.
     */
    static int nfsdDefaultBlksize(long totalramPages) {
        int b = NFSSVC_MAXBLKSIZE;
        while (b > totalramPages && b >= 8 * 1024 * 2) {
            b /= 2;
        }
        return b;
    }

    /** nfsd_max_blksize: the largest READ or WRITE the server takes (the client's rsize and wsize). */
    public int maxBlksize() {
        return maxBlksize;
    }

    public SvcServ serv() {
        return serv;
    }

    /** A transport for a client connecting over loop-back. */
    public SvcXprt accept() {
        return serv.svcCreateXprt();
    }

    /** The root file handle (the exported directory). */
    public long rootFh() {
        return procs.rootFh();
    }

    /** Handles the server holds dentries for. */
    public int nrHandles() {
        return procs.nrHandles();
    }

    /** nfsd(): one server thread. */
    private void nfsd(Task self, SvcRqst rqstp) {
        Lockdep ld = kernel.lockdep();
        boolean pfFstrans = kernel.config().has(NFSD_PF_FSTRANS);
        boolean annotate = kernel.config().has(NFSD_LOCKDEP_RECLAIM) && ld.enabled() && ld.reclaimFsState();
        while (!self.kthreadShouldStop()) {
            RpcCall call = serv.svcRecv(rqstp);
            if (call == null) {
                continue;
            }
            boolean set = false;
            if (pfFstrans && rqstp.rqLocal() && (self.flags() & TaskFlags.PF_FSTRANS) == 0) {
                self.setFlags(self.flags() | TaskFlags.PF_FSTRANS);
                spNrFstrans.incrementAndGet();
                set = true;
            }
            boolean annotated = annotate && rqstp.rqLocal();
            if (annotated) {
                ld.lockdepSetCurrentReclaimState(self, Gfp.GFP_KERNEL);
            }
            try {
                serv.svcProcess(rqstp, call);
            } finally {
                if (annotated) {
                    ld.lockdepClearCurrentReclaimState(self);
                }
                if (set && atomicDecIfPositive(spNrFstrans) >= 0) {
                    self.setFlags(self.flags() & ~TaskFlags.PF_FSTRANS);
                }
            }
        }
    }

    /** atomic_dec_if_positive(): the old value minus one; decremented only if that is not negative. */
    private static int atomicDecIfPositive(AtomicInteger v) {
        for (;;) {
            int c = v.get();
            int d = c - 1;
            if (d < 0 || v.compareAndSet(c, d)) {
                return d;
            }
        }
    }

    /** nfsd_shutdown: the handles' dentries go back (threads are stopped by the kernel's close). */
    public void exportfsUnexport() {
        procs.putAll();
        sb.setExported(false);
    }

    /** A dentry the server holds for {@code fh}, for tests; null if it gave out no such handle. */
    public Dentry dentryOf(long fh) {
        return procs.dentryOf(fh);
    }
}
