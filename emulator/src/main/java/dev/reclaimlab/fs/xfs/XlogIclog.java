package dev.reclaimlab.fs.xfs;

import dev.reclaimlab.block.Bio;
import dev.reclaimlab.kernel.WorkStruct;

import java.util.ArrayList;
import java.util.List;

/**
 * struct xlog_in_core (fs/xfs/xfs_log_priv.h): one in-core log buffer of the ring. Its memory is a block of
 * kernel pages: a 512-byte record header, then log operations. States, as the kernel names them:
 *
 * <pre>
 *   ACTIVE --xfs-cil fills it, then xlogStateSwitchIclogs--> WANT_SYNC
 *   WANT_SYNC --xlogStateReleaseIclog: bios submitted--> SYNCING
 *   SYNCING --last bio's ioend work ran (xfs-log)--> DONE_SYNC
 *   DONE_SYNC --xlogStateDoCallback, oldest first--> CALLBACK --callbacks ran--> ACTIVE (empty)
 * </pre>
 *
 * State changes happen under the log's l_icloglock; {@link #state} is volatile so wait conditions and the
 * wakers' declaration can read it without the lock.
 */
final class XlogIclog {
    enum State { ACTIVE, WANT_SYNC, SYNCING, DONE_SYNC, CALLBACK }

    final int index;
    final int pfn;
    final int order;
    /** Kernel address of the buffer: pfn's pages are contiguous. */
    final long addr;
    final int size;

    volatile State state = State.ACTIVE;
    /** Bytes of log operations after the header (ic_offset); written by xfs-cil while ACTIVE. */
    int offset;
    int numLogops;
    /** Order in which iclogs went to disk; checkpoints complete in this order. */
    volatile long writeSeq;
    /** The bios of the current write: one, or two when the write wraps the end of the log. */
    static final Bio[] NO_BIOS = new Bio[0];

    volatile Bio[] bios = NO_BIOS;
    static final WorkStruct[] NO_WORKS = new WorkStruct[0];
    /** The ioend work of each bio's buffer, queued on xfs-log when that bio ends. */
    volatile WorkStruct[] ioends = NO_WORKS;
    /** Bios of this write not yet ended, and the first one's error; under l_icloglock. */
    int pendingBios;
    int ioError;
    /** ic_callbacks: checkpoints whose commit record is in this iclog, oldest first. */
    final List<XlogCilCtx> callbacks = new ArrayList<>();

    XlogIclog(int index, int pfn, int order, long addr, int size) {
        this.index = index;
        this.pfn = pfn;
        this.order = order;
        this.addr = addr;
        this.size = size;
    }

    /** Under IO or waiting for its callbacks: the ring cannot reuse it yet. */
    boolean inFlight() {
        State s = state;
        return s == State.SYNCING || s == State.DONE_SYNC || s == State.CALLBACK;
    }

    @Override
    public String toString() {
        return "iclog" + index + " " + state + " offset " + offset;
    }
}
