package dev.reclaimlab.sunrpc;

import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.WaitQueue;

/**
 * struct svc_rqst (include/linux/sunrpc/svc.h, as in Linux 3.14): one server thread's request state: its
 * argument and reply pages (rq_pages, refilled by svc_alloc_arg() before every receive), the transport it
 * was handed, and rq_local.
 */
public final class SvcRqst {
    final int[] rqPages;
    final WaitQueue rqWait;
    volatile SvcXprt rqXprt;
    /** The transport the request being served came on (svc_send() replies there). */
    SvcXprt fromXprt;
    private Task task;
    private boolean rqLocal;
    private int pagesUsed;

    SvcRqst(int pages, String name) {
        this.rqPages = new int[pages];
        java.util.Arrays.fill(rqPages, -1);
        this.rqWait = new WaitQueue(name + "->rq_wait");
    }

    /** The thread serving this request. */
    public Task task() {
        return task;
    }

    void setTask(Task t) {
        this.task = t;
    }

    /** rq_local: the request came over a loop-back connection (XPT_LOCAL). */
    public boolean rqLocal() {
        return rqLocal;
    }

    void setRqLocal(boolean on) {
        this.rqLocal = on;
    }

    /** rq_pages: the request's pages (pfns); the first holds the call, the next its data. */
    public int page(int i) {
        return rqPages[i];
    }

    public int nrPages() {
        return rqPages.length;
    }

    /**
     * The request used {@code n} of its pages for data and its reply: svc_xprt_release() gives them up and
     * the next svc_alloc_arg() allocates them again.
     */
    public void usePages(int n) {
        pagesUsed = Math.max(pagesUsed, Math.min(n, rqPages.length));
    }

    int takePagesUsed() {
        int n = pagesUsed;
        pagesUsed = 0;
        return n;
    }
}
