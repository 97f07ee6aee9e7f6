package dev.reclaimlab.fs.buffer;

import dev.reclaimlab.block.request.BlockDriver22;
import dev.reclaimlab.block.request.Request;
import dev.reclaimlab.locking.WaitList;
import dev.reclaimlab.locking.Waitable;
import dev.reclaimlab.locking.WakerSink;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * struct buffer_head as in Linux 2.2 (include/linux/fs.h): one block of a device in a page, with b_state
 * (BH_Uptodate, BH_Dirty, BH_Lock, BH_Req, BH_Protected), b_count, b_this_page and b_end_io. A buffer-cache
 * buffer is hashed by (device, block); an async head made by brw_page() only labels page IO. A task
 * sleeping on BH_Lock names whoever owes the buffer's request.
 */
public final class BufferHead implements Waitable {
    public static final int BH_Uptodate = 0;
    public static final int BH_Dirty = 1;
    public static final int BH_Lock = 2;
    public static final int BH_Req = 3;
    public static final int BH_Protected = 6;

    static final int BUF_CLEAN = 0;
    static final int BUF_LOCKED = 1;
    static final int BUF_DIRTY = 2;

    private static final VarHandle STATE;
    private static final VarHandle COUNT;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(BufferHead.class, "state", int.class);
            COUNT = MethodHandles.lookup().findVarHandle(BufferHead.class, "count", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final BufferCache cache;
    final int size;
    final long data;
    final int pfn;
    final boolean async;
    // Identity: changed under the buffer cache's lock.
    volatile BlockDriver22 dev;
    volatile long blocknr;
    BufferHead thisPage;
    int list = BUF_CLEAN;
    long flushtime;
    boolean hashed;
    long kmemObj;
    // brw_page()'s async heads of one page IO.
    AsyncRing ring;
    private volatile int state;
    private volatile int count;
    private volatile Request request;
    final WaitList wait = new WaitList();

    BufferHead(BufferCache cache, long data, int pfn, int size, boolean async) {
        this.cache = cache;
        this.data = data;
        this.pfn = pfn;
        this.size = size;
        this.async = async;
    }

    public BlockDriver22 dev() {
        return dev;
    }

    public long blocknr() {
        return blocknr;
    }

    public int size() {
        return size;
    }

    /** b_data: the kernel address of the block's bytes. */
    public long data() {
        return data;
    }

    /** The page the bytes are in. */
    public int pfn() {
        return pfn;
    }

    public int count() {
        return count;
    }

    void get() {
        COUNT.getAndAdd(this, 1);
    }

    void put() {
        int c = (int) COUNT.getAndAdd(this, -1);
        if (c <= 0) {
            COUNT.getAndAdd(this, 1);
            throw new IllegalStateException("VFS: brelse: Trying to free free buffer " + this);
        }
    }

    void setCount(int c) {
        count = c;
    }

    boolean test(int bit) {
        return (state & (1 << bit)) != 0;
    }

    void set(int bit) {
        STATE.getAndBitwiseOr(this, 1 << bit);
    }

    void clear(int bit) {
        STATE.getAndBitwiseAnd(this, ~(1 << bit));
    }

    boolean testAndSet(int bit) {
        return ((int) STATE.getAndBitwiseOr(this, 1 << bit) & (1 << bit)) != 0;
    }

    boolean testAndClear(int bit) {
        return ((int) STATE.getAndBitwiseAnd(this, ~(1 << bit)) & (1 << bit)) != 0;
    }

    int stateBits() {
        return state;
    }

    void setStateBits(int s) {
        state = s;
    }

    public boolean uptodate() {
        return test(BH_Uptodate);
    }

    public boolean dirty() {
        return test(BH_Dirty);
    }

    public boolean locked() {
        return test(BH_Lock);
    }

    /** set_bit(BH_Req): IO was asked for this buffer. */
    public void setReq() {
        set(BH_Req);
    }

    /** lock_buffer() as make_request() does it: true if this caller locked it. */
    public boolean tryLockBuffer() {
        return !testAndSet(BH_Lock);
    }

    /** mark_buffer_clean(), as add_request() does once the write is queued. */
    public void markClean() {
        if (testAndClear(BH_Dirty)) {
            cache.refile(this);
        }
    }

    /** The request this buffer is locked for, whose owner ends the wait on it. */
    public void setRequest(Request r) {
        request = r;
        if (r != null) {
            wait.wakeAll();
        }
    }

    public Request request() {
        return request;
    }

    /** bh->b_end_io(bh, uptodate): end_buffer_io_sync() or end_buffer_io_async(). */
    public void endIo(boolean uptodate) {
        if (async) {
            cache.endBufferIoAsync(this, uptodate);
        } else {
            cache.endBufferIoSync(this, uptodate);
        }
    }

    @Override
    public String name() {
        BlockDriver22 d = dev;
        return "BH_Lock of " + (d == null ? "free buffer" : d.name() + " block " + blocknr);
    }

    @Override
    public void wakers(WakerSink out) {
        Request r = request;
        if (r != null) {
            r.wakers(out);
        }
    }

    @Override
    public String toString() {
        BlockDriver22 d = dev;
        return "bh " + (d == null ? "B_FREE" : d.name() + ":" + blocknr) + " size " + size + " state 0x"
                + Integer.toHexString(state) + " count " + count;
    }
}
