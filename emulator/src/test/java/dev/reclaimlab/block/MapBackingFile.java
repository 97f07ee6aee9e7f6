package dev.reclaimlab.block;

import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.mm.SchedMm;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongUnaryOperator;

/**
 * A backing file for loop tests: its bytes live in a Java map of 4 KiB pages; every call records the task
 * that made it and the gfp a GFP_KERNEL allocation would get there (current_gfp_context()). Hooks let a
 * test block a call or fail it with an errno.
 */
final class MapBackingFile implements LoopBackingFile {
    private static final int PAGE = PhysMem.PAGE_SIZE;

    /**
     * {@code first}: the first byte a write carried (0 for other calls); {@code work}: the task's
     * "Workqueue:" line ("kloopd1 loop_queue_read_work") during the call.
     */
    record Call(String op, long pos, int len, Task task, int gfp, byte first, String work) {
    }

    private final PhysMem mem;
    private final long size;
    private final Map<Long, byte[]> pages = new ConcurrentHashMap<>();
    final List<Call> calls = new CopyOnWriteArrayList<>();
    /** Runs inside each call after it is recorded (may block, may throw). */
    volatile Runnable beforeWrite = () -> { };
    volatile Runnable beforeRead = () -> { };
    /** Errno per call, given the position: 0 for success. */
    volatile LongUnaryOperator writeErrno = pos -> 0;
    volatile LongUnaryOperator readErrno = pos -> 0;
    volatile int fsyncErrno;
    private final AtomicInteger writersInside = new AtomicInteger();
    final AtomicInteger maxWritersInside = new AtomicInteger();

    MapBackingFile(PhysMem mem, long size) {
        this.mem = mem;
        this.size = size;
    }

    private void record(String op, long pos, int len, byte first) {
        Task t = Task.current();
        calls.add(new Call(op, pos, len, t, SchedMm.currentGfpContext(Gfp.GFP_KERNEL), first, t.currentWork()));
    }

    List<Call> calls(String op) {
        return calls.stream().filter(c -> c.op().equals(op)).toList();
    }

    @Override
    public long loopSize() {
        return size;
    }

    @Override
    public int loopReadIter(long pos, int pfn, int offset, int len) {
        record("read", pos, len, (byte) 0);
        beforeRead.run();
        int err = (int) readErrno.applyAsLong(pos);
        if (err != 0) {
            return err;
        }
        long kaddr = mem.pageAddress(pfn) + offset;
        for (int done = 0; done < len; ) {
            long p = pos + done;
            int in = (int) (p % PAGE);
            int n = Math.min(len - done, PAGE - in);
            byte[] page = pages.get(p / PAGE);
            if (page == null) {
                mem.memset(kaddr + done, 0, n);
            } else {
                mem.copyIn(kaddr + done, page, in, n);
            }
            done += n;
        }
        return 0;
    }

    @Override
    public int loopWriteIter(long pos, int pfn, int offset, int len) {
        record("write", pos, len, mem.getByte(mem.pageAddress(pfn) + offset));
        maxWritersInside.accumulateAndGet(writersInside.incrementAndGet(), Math::max);
        try {
            beforeWrite.run();
            int err = (int) writeErrno.applyAsLong(pos);
            if (err != 0) {
                return err;
            }
            long kaddr = mem.pageAddress(pfn) + offset;
            for (int done = 0; done < len; ) {
                long p = pos + done;
                int in = (int) (p % PAGE);
                int n = Math.min(len - done, PAGE - in);
                byte[] page = pages.computeIfAbsent(p / PAGE, x -> new byte[PAGE]);
                mem.copyOut(kaddr + done, page, in, n);
                done += n;
            }
            return 0;
        } finally {
            writersInside.decrementAndGet();
        }
    }

    @Override
    public int loopFsync() {
        record("fsync", 0, 0, (byte) 0);
        return fsyncErrno;
    }
}
