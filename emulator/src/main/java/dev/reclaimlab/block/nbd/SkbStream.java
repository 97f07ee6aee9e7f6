package dev.reclaimlab.block.nbd;

import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Throttle;
import dev.reclaimlab.locking.WaitQueue;
import org.jctools.queues.MpscUnboundedArrayQueue;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One direction of a loop-back stream socket as nbd used it in Linux 2.2 (net/core/sock.c, tcp.c): a send
 * buffer of sk->sndbuf bytes (a sender sleeps in sock_alloc_send_skb() while it is full, until the reader
 * frees some), skbs allocated in the sender's context with the socket's gfp mask and freed by the reader,
 * and the reader's wait for data. nbd_xmit() blocks every signal, so both waits are D-state waits here, each
 * naming the task on the other end.
 */
final class SkbStream {
    private final SkbCache skbs;
    private final String name;
    private final long sndbuf;
    private final MpscUnboundedArrayQueue<Skb> queue = new MpscUnboundedArrayQueue<>(64);
    private final AtomicLong wmem = new AtomicLong();
    private final WaitQueue wmemWait;
    private final WaitQueue dataWait;
    private volatile boolean closed;
    private final AtomicLong messages = new AtomicLong();
    private final AtomicLong noMemory = new AtomicLong();
    private final Throttle waitForTcpMemory;
    /** One jiffy (HZ 100) per retry. */
    private static final long TCP_MEMORY_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    SkbStream(SkbCache skbs, String name, long sndbuf) {
        this.skbs = skbs;
        this.name = name;
        this.sndbuf = sndbuf;
        this.wmemWait = new WaitQueue("sk->sndbuf of " + name);
        this.dataWait = new WaitQueue("sk->receive_queue of " + name);
        this.waitForTcpMemory = new Throttle("wait_for_tcp_memory " + name);
    }

    /** The task that reads this direction: it owes a sender room in the send buffer. */
    void setReader(Task t) {
        wmemWait.expectWaker(t);
    }

    /** The task that writes this direction: it owes a waiting reader its data. */
    void setWriter(Task t) {
        dataWait.expectWaker(t);
    }

    boolean closed() {
        return closed;
    }

    long messages() {
        return messages.get();
    }

    /**
     * sock_alloc_send_skb() as tcp_do_sendmsg() uses it: waits while the send buffer is full, then
     * allocates the skb page with {@code gfp} in the caller's context; when that fails it waits a jiffy and
     * tries again, as 2.2's TCP did. Null (errno in {@code err[0]}) only once the socket is closed.
     */
    Skb allocSkb(int len, int gfp, int[] err) {
        if (len <= 0 || len > SkbCache.OBJ_SIZE) {
            throw new IllegalArgumentException(name + ": message of " + len + " bytes does not fit one skb");
        }
        for (;;) {
            if (wmem.get() >= sndbuf && !closed) {
                wmemWait.waitEvent(() -> wmem.get() < sndbuf || closed);
            }
            if (closed) {
                err[0] = -Errno.EIO;
                return null;
            }
            long addr = skbs.alloc(gfp);
            if (addr != 0) {
                wmem.addAndGet(len);
                return new Skb(addr, len);
            }
            // tcp_do_sendmsg(): no skb is no error; wait_for_tcp_memory() and try again.
            noMemory.incrementAndGet();
            waitForTcpMemory.throttle(TCP_MEMORY_WAIT_NANOS);
        }
    }

    /** Times a sender found no memory for an skb and waited to try again. */
    long noMemory() {
        return noMemory.get();
    }

    /** Drops an skb that was allocated but is not sent. */
    void freeUnsent(Skb skb) {
        release(skb);
    }

    /** Queues a filled skb for the reader; false (and the skb freed) when the socket is closed. */
    boolean enqueue(Skb skb) {
        if (closed) {
            release(skb);
            return false;
        }
        queue.offer(skb);
        messages.incrementAndGet();
        dataWait.wakeUp();
        return true;
    }

    /** The next message without waiting, or null. */
    Skb poll() {
        return queue.poll();
    }

    /** Waits in D state until a message is there or the socket is closed; the declared writer owes it. */
    void waitForData(Task self) {
        dataWait.waitEvent(() -> !queue.isEmpty() || closed || self.kthreadShouldStop());
    }

    /** Waits idle (TASK_INTERRUPTIBLE, a blocked read()) for a message or for {@code more} to hold. */
    void waitIdle(Task self, java.util.function.BooleanSupplier more) {
        dataWait.waitEventInterruptibleTimeout(() -> !queue.isEmpty() || closed || self.kthreadShouldStop()
                || more.getAsBoolean(), TimeUnit.MILLISECONDS.toNanos(200));
    }

    /** Wakes a reader idling in {@link #waitIdle} so it rechecks its condition. */
    void nudgeReader() {
        dataWait.wakeUp();
    }

    /** kfree_skb() by the reader: the page goes back and a sender may go on. */
    void release(Skb skb) {
        skbs.free(skb.kaddr);
        wmem.addAndGet(-skb.len);
        wmemWait.wakeUp();
    }

    /** Shutdown: both ends' waits end; queued messages are dropped. */
    void close() {
        closed = true;
        for (Skb s = queue.poll(); s != null; s = queue.poll()) {
            release(s);
        }
        wmemWait.wakeUp();
        dataWait.wakeUp();
    }

    @Override
    public String toString() {
        return "stream " + name + " (" + wmem.get() + "/" + sndbuf + " bytes queued" + (closed ? ", closed" : "") + ")";
    }
}
