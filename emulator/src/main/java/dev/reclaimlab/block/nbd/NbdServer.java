package dev.reclaimlab.block.nbd;

import dev.reclaimlab.block.request.Blk22;
import dev.reclaimlab.fs.ext2.Ext2File;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Fix;
import dev.reclaimlab.kernel.KernelPanic;
import dev.reclaimlab.kernel.KernelVersion;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.mm.Gfp22;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.mm.SchedMm;
import dev.reclaimlab.swap.Memory22;
import dev.reclaimlab.swap.Mm22;
import dev.reclaimlab.swap.Process22;
import dev.reclaimlab.swap.UserFault;
import dev.reclaimlab.swap.Vma;

import java.util.concurrent.atomic.AtomicLong;

/**
 * nbd-server as the 1999 user program ran on the same host: one plain process that reads a request from
 * its socket, lseek()s and read()s or write()s its export file (a file on a local ext2) through its own
 * anonymous buffer, and writes the reply. Nothing about it is special to the kernel: its page-cache reads
 * are GFP_USER, its buffer-cache growth GFP_BUFFER, its reply skbs GFP_KERNEL, its buffer's faults
 * GFP_USER, so its reclaim may swap out and write shared-file pages. A failed read or write is answered
 * with the error in the reply (the 1999 server's error handling was not read). A server that dies closes
 * its socket. With {@link #IO_FLUSHER} every allocation it makes loses __GFP_IO.
 */
public final class NbdServer {
    public static final Fix IO_FLUSHER = Fix.declare("io_flusher_server",
            "the nbd-server runs as PR_SET_IO_FLUSHER: every allocation it makes drops __GFP_IO (PF_MEMALLOC_NOIO)",
            "8d19f1c8e193 prctl: PR_{G,S}ET_IO_FLUSHER (5.6)", new KernelVersion(5, 6));

    static final int BUFFER_BYTES = 64 << 10;

    private final Mm22 mm;
    private final Ext2File export;
    private final NbdSocket sock;
    private volatile Task task;
    private volatile Process22 proc;
    private volatile boolean dieMidRequest;
    private volatile String exitReason;
    private volatile boolean exitedByPanic;
    private final AtomicLong served = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();

    private NbdServer(Mm22 mm, Ext2File export, NbdSocket sock) {
        this.mm = mm;
        this.export = export;
        this.sock = sock;
    }

    /** Starts the "nbd-server" process serving {@code export} on {@code sock}. */
    public static NbdServer start(Mm22 mm, Ext2File export, NbdSocket sock) {
        NbdServer s = new NbdServer(mm, export, sock);
        s.task = mm.kernel().kthreadRun("nbd-server", 0, s::serve);
        sock.toServer.setReader(s.task);
        sock.toClient.setWriter(s.task);
        return s;
    }

    public Task task() {
        return task;
    }

    public Process22 process() {
        return proc;
    }

    public long served() {
        return served.get();
    }

    public long errors() {
        return errors.get();
    }

    /** Why the server exited, or null while it runs. */
    public String exitReason() {
        return exitReason;
    }

    /** Whether the server exited because the kernel panicked (a consequence of what ended the run, not a finding). */
    public boolean exitedByPanic() {
        return exitedByPanic;
    }

    /** Makes the server exit after it has read its next request and before it answers (a crash). */
    public void dieMidRequest() {
        dieMidRequest = true;
    }

    private void serve(Task self) {
        if (mm.kernel().config().has(IO_FLUSHER)) {
            SchedMm.memallocNoioSave();
        }
        Process22 p = Process22.attach(mm, self);
        proc = p;
        Memory22 memory = mm.memory();
        PhysMem mem = mm.mem();
        String why = "socket closed";
        try {
            Vma buf = memory.mmap(p, BUFFER_BYTES, null, 0, false);
            long ubuf = buf.start();
            SkbStream in = sock.toServer;
            for (;;) {
                Skb skb = in.poll();
                if (skb == null) {
                    if (in.closed() || self.kthreadShouldStop() || self.fatalSignalPending()) {
                        why = self.fatalSignalPending() ? "killed" : "socket closed";
                        break;
                    }
                    in.waitIdle(self, self::fatalSignalPending);
                    continue;
                }
                int magic = NbdProto.magic(mem, skb.kaddr);
                int type = NbdProto.type(mem, skb.kaddr);
                long handle = NbdProto.handle(mem, skb.kaddr);
                long from = NbdProto.from(mem, skb.kaddr);
                int len = NbdProto.len(mem, skb.kaddr);
                if (magic != NbdProto.NBD_REQUEST_MAGIC || len < 0 || len > BUFFER_BYTES) {
                    in.release(skb);
                    why = "bad request magic 0x" + Integer.toHexString(magic);
                    break;
                }
                if (type == Blk22.WRITE) {
                    memory.copyToUser(p, ubuf, skb.kaddr + NbdProto.REQUEST_SIZE, len);
                }
                in.release(skb);
                if (dieMidRequest || self.fatalSignalPending()) {
                    why = dieMidRequest ? "died in the middle of a request" : "killed";
                    break;
                }
                int error = 0;
                if (type == Blk22.WRITE) {
                    long n = export.writeUser(p, ubuf, len, from);
                    error = n == len ? 0 : (n < 0 ? (int) -n : Errno.EIO);
                } else {
                    long n = export.readToUser(p, ubuf, len, from);
                    error = n == len ? 0 : (n < 0 ? (int) -n : Errno.EIO);
                }
                if (error != 0) {
                    errors.incrementAndGet();
                }
                if (!reply(p, memory, ubuf, type == Blk22.READ && error == 0 ? len : 0, error, handle)) {
                    why = "reply send failed";
                    break;
                }
                served.incrementAndGet();
            }
        } catch (UserFault f) {
            why = "killed by " + f.getMessage();
        } catch (KernelPanic panic) {
            why = "kernel panic";
            exitedByPanic = true;
            throw panic;
        } finally {
            exitReason = why;
            sock.close();
            if (!mm.kernel().panicked()) {
                p.exit();
            }
            mm.kernel().printk("nbd-server: exiting: " + why);
        }
    }

    /** write() of the reply, and of a READ's data from the user buffer; the skb is GFP_KERNEL. */
    private boolean reply(Process22 p, Memory22 memory, long ubuf, int dataLen, int error, long handle) {
        int[] err = new int[1];
        Skb skb = sock.toClient.allocSkb(NbdProto.REPLY_SIZE + dataLen, Gfp22.GFP_KERNEL, err);
        if (skb == null) {
            return false;
        }
        NbdProto.putReply(mm.mem(), skb.kaddr, error, handle);
        if (dataLen > 0) {
            memory.copyFromUser(p, skb.kaddr + NbdProto.REPLY_SIZE, ubuf, dataLen);
        }
        return sock.toClient.enqueue(skb);
    }
}
