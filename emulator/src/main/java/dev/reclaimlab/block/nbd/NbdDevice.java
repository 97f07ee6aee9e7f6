package dev.reclaimlab.block.nbd;

import dev.reclaimlab.block.request.Blk22;
import dev.reclaimlab.block.request.BlockDriver22;
import dev.reclaimlab.block.request.Request;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.TaskFlags;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.SpinLock;
import dev.reclaimlab.mm.Gfp22;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.swap.Mm22;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The network block device client of Linux 2.2 (drivers/block/nbd.c), "nbd0". It is never plugged, so
 * add_request() runs do_nbd_request() at once in the submitter's context (a task in bread(), kflushd),
 * and nbd_send_req() sends the request, with its data for a WRITE, through sock_sendmsg(): the skb is
 * allocated with sk->allocation, GFP_KERNEL in 2.2, so the submitter may enter reclaim right there. The
 * request then waits in the lo->head/tail FIFO until the nbd-client task, inside ioctl(NBD_DO_IT), reads
 * its reply (in order, checked by handle) and ends it. When the server's end goes away, NBD_DO_IT returns;
 * NBD_CLEAR_QUE ends every queued request with an error and NBD_CLEAR_SOCK makes later ones fail at once
 * ("Request when not-ready."). 2.2 appended a request to the FIFO after sending it; here the append and
 * the queueing of its message are one step, so a reply never overtakes its request.
 */
public final class NbdDevice extends BlockDriver22 {
    public static final Fix NBD_SOCK_NOIO = Fix.declare("nbd_sock_noio",
            "nbd's socket allocates with GFP_NOIO (in 2.2 terms __GFP_HIGH|__GFP_WAIT: no __GFP_IO)",
            "2.4's nbd_xmit(): sock->sk->allocation = GFP_NOIO", new KernelVersion(2, 4, 0));
    public static final Fix NBD_SOCK_MEMALLOC = Fix.declare("nbd_sock_memalloc",
            "nbd transmits with PF_MEMALLOC (in 2.2 terms: no reclaim at all, free pages down to zero)",
            "Mel Gorman, 'nbd: Set SOCK_MEMALLOC for access to PFMEMALLOC reserves' (swap over NBD, 3.6)",
            new KernelVersion(3, 6));

    private static final LockClassKey NBD_LOCK = new LockClassKey("nbd_device.lock");
    /** GFP_NOIO as 2.4 defined it. */
    static final int GFP_NOIO_24 = Gfp22.__GFP_HIGH | Gfp22.__GFP_WAIT;

    private final Mm22 mm;
    private final PhysMem mem;
    private final SpinLock lock = new SpinLock("nbd_device.lock", NBD_LOCK);
    private final ArrayDeque<Request> fifo = new ArrayDeque<>();
    private volatile NbdSocket sock;
    private volatile Task client;
    private volatile int harderror;
    private final AtomicLong requestsIn = new AtomicLong();
    private final AtomicLong requestsOut = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();

    public NbdDevice(Mm22 mm, int minor, long sizeBytes) {
        super(mm.blk(), "nbd" + minor, 1024, sizeBytes);
        this.mm = mm;
        this.mem = mm.mem();
    }

    @Override
    public boolean isNbd() {
        return true;
    }

    /** PARANOIA's requests_in / requests_out. */
    public long requestsIn() {
        return requestsIn.get();
    }

    public long requestsOut() {
        return requestsOut.get();
    }

    /** Requests ended with an error. */
    public long failed() {
        return failed.get();
    }

    /** Requests waiting for their reply. */
    public int inFlight() {
        lock.spinLock();
        try {
            return fifo.size();
        } finally {
            lock.spinUnlock();
        }
    }

    /** ioctl(NBD_SET_SOCK). */
    public void setSock(NbdSocket s) {
        this.sock = s;
    }

    /** The socket, or null once NBD_CLEAR_SOCK ran. */
    NbdSocket sock() {
        return sock;
    }

    @Override
    protected void addRequest(Request req) {
        doNbdRequest(req);
    }

    /** do_nbd_request(), in the submitter's context. */
    private void doNbdRequest(Request req) {
        NbdSocket s = sock;
        if (s == null) {
            mm.kernel().printk("NBD, minor 0: Request when not-ready.");
            req.addError();
            endRequest(req);
            return;
        }
        requestsIn.incrementAndGet();
        req.clearErrors();
        req.setOwner(Task.current());
        Skb skb = nbdSendReq(s, req);
        boolean appended;
        boolean queued = false;
        lock.spinLock();
        try {
            // NBD_CLEAR_SOCK may have run while we sent: then nobody would ever clear this request.
            appended = sock == s;
            if (appended) {
                fifo.addLast(req);
                req.setOwner(client);
                if (skb != null) {
                    queued = s.toServer.enqueue(skb);
                    skb = null;
                }
            }
        } finally {
            lock.spinUnlock();
        }
        if (skb != null) {
            s.toServer.freeUnsent(skb);
        }
        if (!appended) {
            req.addError();
            endRequest(req);
            return;
        }
        if (!queued) {
            // Sendmsg failed: the request stays queued with an error until NBD_CLEAR_QUE.
            req.addError();
        }
        s.toClient.nudgeReader();
    }

    /** nbd_send_req(): builds the request (and a WRITE's data) in an skb of the socket's allocation. */
    private Skb nbdSendReq(NbdSocket s, Request req) {
        boolean write = req.cmd() == Blk22.WRITE;
        int dataLen = req.nrSectors() << 9;
        int len = NbdProto.REQUEST_SIZE + (write ? dataLen : 0);
        int gfp = mm.kernel().config().has(NBD_SOCK_NOIO) ? GFP_NOIO_24 : Gfp22.GFP_KERNEL;
        Task t = Task.current();
        boolean memalloc = mm.kernel().config().has(NBD_SOCK_MEMALLOC) && (t.flags() & TaskFlags.PF_MEMALLOC) == 0;
        if (memalloc) {
            t.setFlags(t.flags() | TaskFlags.PF_MEMALLOC);
        }
        int[] err = new int[1];
        Skb skb;
        try {
            skb = s.toServer.allocSkb(len, gfp, err);
        } finally {
            if (memalloc) {
                t.setFlags(t.flags() & ~TaskFlags.PF_MEMALLOC);
            }
        }
        if (skb == null) {
            mm.kernel().printk("NBD: Sendmsg failed for control. (result " + err[0] + ")");
            return null;
        }
        NbdProto.putRequest(mem, skb.kaddr, req.cmd(), req.slot(), req.sector() * 512, dataLen);
        if (write) {
            mem.memcpy(skb.kaddr + NbdProto.REQUEST_SIZE, req.bh().data(), dataLen);
        }
        return skb;
    }

    /**
     * ioctl(NBD_DO_IT) by the nbd-client task: reads replies and ends their requests until the socket
     * fails; returns lo->harderror.
     */
    public int nbdDoIt() {
        Task self = Task.current();
        NbdSocket s = sock;
        if (s == null) {
            return -Errno.EINVAL;
        }
        client = self;
        s.toClient.setReader(self);
        lock.spinLock();
        try {
            for (Request r : fifo) {
                r.setOwner(self);
            }
        } finally {
            lock.spinUnlock();
        }
        for (;;) {
            Request req = nbdReadStat(self, s);
            if (req == null) {
                return harderror;
            }
            lock.spinLock();
            try {
                fifo.pollFirst();
            } finally {
                lock.spinUnlock();
            }
            endRequest(req);
        }
    }

    private Request head() {
        lock.spinLock();
        try {
            return fifo.peekFirst();
        } finally {
            lock.spinUnlock();
        }
    }

    /** nbd_read_stat(): the next reply; null after a hard failure (lo->harderror set). */
    private Request nbdReadStat(Task self, NbdSocket s) {
        SkbStream in = s.toClient;
        Skb skb;
        for (;;) {
            skb = in.poll();
            if (skb != null) {
                break;
            }
            if (in.closed() || self.kthreadShouldStop()) {
                mm.kernel().printk("NBD: Recv control failed. (result 0)");
                harderror = -Errno.EIO;
                return null;
            }
            if (head() != null) {
                // A request is out: its reply is owed by the nbd-server, and signals are blocked.
                in.waitForData(self);
            } else {
                in.waitIdle(self, () -> head() != null);
            }
        }
        try {
            Request req = head();
            int magic = NbdProto.magic(mem, skb.kaddr);
            long handle = NbdProto.handle(mem, skb.kaddr);
            if (req == null) {
                mm.kernel().printk("NBD: Unexpected reply with no request outstanding.");
                harderror = -Errno.EIO;
                return null;
            }
            if (handle != req.slot()) {
                mm.kernel().printk("NBD: Unexpected handle received.");
                req.addError();
                return req;
            }
            if (magic != NbdProto.NBD_REPLY_MAGIC) {
                mm.kernel().printk("NBD: Not enough magic. (result " + magic + ")");
                harderror = -Errno.EIO;
                return null;
            }
            if (NbdProto.replyError(mem, skb.kaddr) != 0) {
                mm.kernel().printk("NBD: Other side returned error.");
                req.addError();
                return req;
            }
            if (req.cmd() == Blk22.READ) {
                int dataLen = req.nrSectors() << 9;
                if (skb.len < NbdProto.REPLY_SIZE + dataLen) {
                    mm.kernel().printk("NBD: Recv data failed.");
                    harderror = -Errno.EIO;
                    return null;
                }
                mem.memcpy(req.bh().data(), skb.kaddr + NbdProto.REPLY_SIZE, dataLen);
            }
            return req;
        } finally {
            in.release(skb);
        }
    }

    /** nbd_end_request(). */
    private void endRequest(Request req) {
        boolean ok = req.errors() == 0;
        if (!ok) {
            failed.incrementAndGet();
        }
        requestsOut.incrementAndGet();
        blk.endRequest(req, ok);
    }

    /** ioctl(NBD_CLEAR_QUE): every queued request ends with an error. */
    public void nbdClearQue() {
        List<Request> all;
        lock.spinLock();
        try {
            all = new ArrayList<>(fifo);
            fifo.clear();
        } finally {
            lock.spinUnlock();
        }
        for (Request r : all) {
            r.addError();
            endRequest(r);
        }
    }

    /** ioctl(NBD_CLEAR_SOCK): -EBUSY while requests are queued; afterwards requests fail at once. */
    public int nbdClearSock() {
        lock.spinLock();
        try {
            if (!fifo.isEmpty()) {
                mm.kernel().printk("nbd: Some requests are in progress -> can not turn off.");
                return -Errno.EBUSY;
            }
            if (sock == null) {
                return -Errno.EINVAL;
            }
            sock = null;
            return 0;
        } finally {
            lock.spinUnlock();
        }
    }
}
