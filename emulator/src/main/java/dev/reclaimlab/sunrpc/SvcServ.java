package dev.reclaimlab.sunrpc;

import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.SpinLock;
import dev.reclaimlab.locking.WaitQueue;
import dev.reclaimlab.locking.WakerSink;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.Mm;
import dev.reclaimlab.mm.PageAlloc;
import dev.reclaimlab.mm.PhysMem;

import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;

/**
 * struct svc_serv with its one svc_pool (net/sunrpc/svc.c, svc_xprt.c, Linux 3.14): the server threads, the
 * idle ones (sp_threads) and the transports with data no thread has taken yet (sp_sockets), under sp_lock.
 * svc_recv() first fills the request's pages with alloc_page(GFP_KERNEL), sleeping 500 ms
 * (TASK_INTERRUPTIBLE) after each failure, so every thread allocates before it even receives; then it idles
 * until a transport is handed to it; then it takes one record under XPT_BUSY and clears it.
 */
public final class SvcServ {
    private static final LockClassKey SP_LOCK_KEY = new LockClassKey("&pool->sp_lock");
    /** svc_alloc_arg()'s retry after a failed alloc_page(): schedule_timeout(msecs_to_jiffies(500)). */
    static final long ALLOC_ARG_RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
    /** nfsd()'s svc_recv(rqstp, 60*60*HZ). */
    static final long RECV_TIMEOUT_NANOS = TimeUnit.HOURS.toNanos(1);

    private final Kernel kernel;
    private final String name;
    private final SvcProgram program;
    private final int pagesPerRqst;
    private final SpinLock spLock = new SpinLock("sp_lock", SP_LOCK_KEY);
    private final ArrayDeque<SvcXprt> spSockets = new ArrayDeque<>();
    private final ArrayDeque<SvcRqst> spThreads = new ArrayDeque<>();
    private final List<Task> threads = new CopyOnWriteArrayList<>();
    private final WaitQueue allocRetry;
    private final AtomicLong allocRetries = new AtomicLong();
    private final AtomicLong served = new AtomicLong();

    /**
     * svc_create_pooled(): {@code maxMesg} is sv_max_mesg (nfsd_max_blksize plus a page); each request gets
     * (sv_max_mesg + PAGE_SIZE) / PAGE_SIZE pages.
     */
    public SvcServ(Kernel kernel, String name, SvcProgram program, int maxMesg) {
        this.kernel = kernel;
        this.name = name;
        this.program = program;
        this.pagesPerRqst = (maxMesg + PhysMem.PAGE_SIZE) / PhysMem.PAGE_SIZE;
        this.allocRetry = new WaitQueue(name + " svc_alloc_arg retry");
    }

    public SvcProgram program() {
        return program;
    }

    /** Pages each request's svc_alloc_arg() keeps filled. */
    public int pagesPerRqst() {
        return pagesPerRqst;
    }

    /** Calls served so far. */
    public long served() {
        return served.get();
    }

    /** Times svc_alloc_arg() found no page and slept 500 ms. */
    public long allocRetries() {
        return allocRetries.get();
    }

    public List<Task> threads() {
        return threads;
    }

    /** A transport for a new loop-back connection (the listener's svc_tcp_accept()). */
    public SvcXprt svcCreateXprt() {
        return new SvcXprt(this);
    }

    /**
     * svc_set_num_threads(): starts {@code n} threads named {@code name}, each running {@code fn} with its own
     * request (nfsd() loops svc_recv() and svc_process()), with {@code flags} (PF_LESS_THROTTLE for nfsd).
     */
    public void svcSetNumThreads(int n, int flags, BiConsumer<Task, SvcRqst> fn) {
        if (n < 1 || n > 8192) {
            throw new IllegalArgumentException(name + ": " + n + " threads is outside [1, NFSD_MAXSERVS 8192]");
        }
        for (int i = 0; i < n; i++) {
            SvcRqst rq = new SvcRqst(pagesPerRqst, name + i);
            Task t = kernel.kthreadRun(name, flags, self -> {
                rq.setTask(self);
                try {
                    fn.accept(self, rq);
                } finally {
                    svcRqstFree(rq);
                    threads.remove(self);
                }
            });
            threads.add(t);
        }
    }

    /** Any thread of the pool can take a record that waits in a transport. */
    void threadWakers(WakerSink out) {
        for (Task t : threads) {
            out.add(t);
        }
    }

    /** svc_xprt_enqueue(): hand the transport to an idle thread, or queue it for the next one to come. */
    void svcXprtEnqueue(SvcXprt x) {
        if (!x.hasSomethingToDo()) {
            return;
        }
        kernel.currentTask();
        spLock.spinLock();
        try {
            if (x.testAndSetFlag(SvcXprt.XPT_BUSY)) {
                return;
            }
            SvcRqst r = spThreads.poll();
            if (r != null) {
                r.rqXprt = x;
                r.rqWait.wakeUp();
            } else {
                spSockets.add(x);
            }
        } finally {
            spLock.spinUnlock();
        }
    }

    /**
     * svc_recv(): svc_alloc_arg(), then a transport (svc_get_next_xprt()), then one record. Returns the call,
     * or null for -EAGAIN (nothing this time) and -EINTR (stop) alike: the caller checks kthread_should_stop().
     */
    public RpcCall svcRecv(SvcRqst rqstp) {
        Task t = Task.current();
        if (svcAllocArg(t, rqstp) < 0 || t.kthreadShouldStop()) {
            return null;
        }
        SvcXprt x = svcGetNextXprt(t, rqstp);
        if (x == null) {
            return null;
        }
        RpcCall call = x.svcTcpRecvfrom(t);
        rqstp.fromXprt = x;
        rqstp.setRqLocal(x.testFlag(SvcXprt.XPT_LOCAL));
        // svc_xprt_received(): another thread may take the next record while this one is served.
        x.clearFlag(SvcXprt.XPT_BUSY);
        svcXprtEnqueue(x);
        if (call != null && call.data() != null) {
            copyIntoPages(rqstp, call.data());
        }
        return call;
    }

    /** The record's data into rq_pages[1..], as svc_tcp_recvfrom() reads the fragment into the pages. */
    private void copyIntoPages(SvcRqst rqstp, byte[] data) {
        Mm mm = kernel.mm();
        int off = 0;
        for (int i = 1; i < rqstp.rqPages.length && off < data.length; i++) {
            int n = Math.min(PhysMem.PAGE_SIZE, data.length - off);
            mm.mem().copyIn(mm.pageAddress(rqstp.rqPages[i]), data, off, n);
            off += n;
        }
    }

    /**
     * svc_alloc_arg(): every empty rq_pages slot gets alloc_page(GFP_KERNEL); when none is to be had the thread
     * sleeps 500 ms TASK_INTERRUPTIBLE and tries again. -EINTR when asked to stop.
     */
    int svcAllocArg(Task t, SvcRqst rqstp) {
        Mm mm = kernel.mm();
        for (int i = 0; i < rqstp.rqPages.length; i++) {
            while (rqstp.rqPages[i] == PageAlloc.NULL_PAGE) {
                int p = mm.allocPages(Gfp.GFP_KERNEL, 0);
                if (p != PageAlloc.NULL_PAGE) {
                    rqstp.rqPages[i] = p;
                    break;
                }
                if (t.kthreadShouldStop()) {
                    return -Errno.EINTR;
                }
                allocRetries.incrementAndGet();
                allocRetry.waitEventInterruptibleTimeout(t::kthreadShouldStop, ALLOC_ARG_RETRY_NANOS);
            }
        }
        return 0;
    }

    /** svc_get_next_xprt(): a queued transport, or idle on sp_threads until one is handed over (or stop). */
    private SvcXprt svcGetNextXprt(Task t, SvcRqst rqstp) {
        spLock.spinLock();
        try {
            SvcXprt x = spSockets.poll();
            if (x != null) {
                return x;
            }
            rqstp.rqXprt = null;
            spThreads.add(rqstp);
        } finally {
            spLock.spinUnlock();
        }
        rqstp.rqWait.waitEventInterruptibleTimeout(() -> rqstp.rqXprt != null || t.kthreadShouldStop(),
                RECV_TIMEOUT_NANOS);
        spLock.spinLock();
        try {
            SvcXprt x = rqstp.rqXprt;
            if (x == null) {
                spThreads.remove(rqstp);
            }
            rqstp.rqXprt = null;
            return x;
        } finally {
            spLock.spinUnlock();
        }
    }

    /**
     * svc_process() + svc_send(): the program serves the call, the reply goes back over the transport, and
     * svc_xprt_release() frees the pages the request used (the next svc_alloc_arg() refills them).
     */
    public void svcProcess(SvcRqst rqstp, RpcCall call) {
        RpcReply reply = program.dispatch(rqstp, call);
        served.incrementAndGet();
        SvcXprt x = rqstp.fromXprt;
        rqstp.fromXprt = null;
        svcXprtRelease(rqstp);
        if (x != null) {
            x.svcTcpSendto(reply);
        }
    }

    /** svc_xprt_release(): the request's used pages go back to the allocator. */
    private void svcXprtRelease(SvcRqst rqstp) {
        int used = rqstp.takePagesUsed();
        for (int i = 0; i < used; i++) {
            if (rqstp.rqPages[i] != PageAlloc.NULL_PAGE) {
                kernel.mm().freePages(rqstp.rqPages[i], 0);
                rqstp.rqPages[i] = PageAlloc.NULL_PAGE;
            }
        }
    }

    /** svc_rqst_free(): a thread that exits gives its pages back. */
    private void svcRqstFree(SvcRqst rqstp) {
        if (kernel.panicked() || kernel.isClosed()) {
            return;
        }
        for (int i = 0; i < rqstp.rqPages.length; i++) {
            if (rqstp.rqPages[i] != PageAlloc.NULL_PAGE) {
                kernel.mm().freePages(rqstp.rqPages[i], 0);
                rqstp.rqPages[i] = PageAlloc.NULL_PAGE;
            }
        }
    }

    @Override
    public String toString() {
        return "svc_serv " + name + " (" + threads.size() + " threads)";
    }
}
