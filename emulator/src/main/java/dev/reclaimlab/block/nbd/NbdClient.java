package dev.reclaimlab.block.nbd;

import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Throttle;

import java.util.concurrent.TimeUnit;

/**
 * The nbd-client program after its set-up ioctls: it sits in ioctl(NBD_DO_IT), the receiver of every
 * reply. When that returns (the server's end of the socket is gone) it does NBD_CLEAR_QUE, which fails
 * the queued requests, and NBD_CLEAR_SOCK, retried while the kernel answers -EBUSY. Whether the 1999
 * nbd-client did exactly this was not read; it is what the 2.2 ioctls allow and what ends the waiting IO
 * with an error instead of a hang.
 */
public final class NbdClient {
    private final NbdDevice nbd;
    private volatile Task task;
    private volatile int doItResult = Integer.MIN_VALUE;
    private final Throttle retry = new Throttle("nbd-client NBD_CLEAR_SOCK retry");

    private NbdClient(NbdDevice nbd) {
        this.nbd = nbd;
    }

    /** NBD_SET_SOCK, then NBD_DO_IT in the "nbd-client" task. */
    public static NbdClient start(Kernel kernel, NbdDevice nbd, NbdSocket sock) {
        NbdClient c = new NbdClient(nbd);
        nbd.setSock(sock);
        c.task = kernel.kthreadRun("nbd-client", 0, c::run);
        return c;
    }

    public Task task() {
        return task;
    }

    /** What NBD_DO_IT returned, or MIN_VALUE while it runs. */
    public int doItResult() {
        return doItResult;
    }

    private void run(Task self) {
        doItResult = nbd.nbdDoIt();
        self.kernel().printk("nbd-client: NBD_DO_IT returned " + doItResult);
        for (;;) {
            nbd.nbdClearQue();
            int r = nbd.nbdClearSock();
            if (r != -Errno.EBUSY) {
                return;
            }
            retry.throttle(TimeUnit.MILLISECONDS.toNanos(1));
        }
    }
}
