package dev.reclaimlab.swap;

import dev.reclaimlab.fs.buffer.BufferHead;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Sleep;
import dev.reclaimlab.locking.WaitKind;
import dev.reclaimlab.locking.WaitList;
import dev.reclaimlab.locking.Waitable;
import dev.reclaimlab.locking.WakerSink;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The fields of a Linux 2.2 struct page (include/linux/mm.h) that the core's mem_map does not keep: the
 * flag bits 2.2 tests, page->inode and page->offset (the page cache and the swap cache), page->buffers and
 * page->wait. page->count is the core's refcount. Identity fields change under pagecache_lock; flags are
 * atomic bit operations as in 2.2. A task sleeping on PG_locked names whoever owes the page's IO.
 */
public final class Page22 implements Waitable {
    public static final int PG_locked = 0;
    public static final int PG_error = 1;
    public static final int PG_referenced = 2;
    public static final int PG_dirty = 3;
    public static final int PG_uptodate = 4;
    public static final int PG_free_after = 5;
    public static final int PG_decr_after = 6;
    public static final int PG_swap_unlock_after = 7;
    public static final int PG_swap_cache = 10;

    private static final VarHandle FLAGS;

    static {
        try {
            FLAGS = MethodHandles.lookup().findVarHandle(Page22.class, "flags", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Mm22 mm;
    private final int pfn;
    private volatile int flags;
    volatile Mapping22 inode;
    volatile long offset;
    private volatile BufferHead buffers;
    // Who ends the IO that holds PG_locked (a queue worker, the buffers' requests).
    private volatile Waitable io;
    final WaitList wait = new WaitList();

    Page22(Mm22 mm, int pfn) {
        this.mm = mm;
        this.pfn = pfn;
    }

    public int pfn() {
        return pfn;
    }

    public long address() {
        return mm.mem().pageAddress(pfn);
    }

    public Mapping22 inode() {
        return inode;
    }

    public long offset() {
        return offset;
    }

    public BufferHead buffers() {
        return buffers;
    }

    public void setBuffers(BufferHead bh) {
        this.buffers = bh;
    }

    public boolean test(int bit) {
        return (flags & (1 << bit)) != 0;
    }

    public void set(int bit) {
        FLAGS.getAndBitwiseOr(this, 1 << bit);
    }

    public void clear(int bit) {
        FLAGS.getAndBitwiseAnd(this, ~(1 << bit));
    }

    /** test_and_set_bit(). */
    public boolean testAndSet(int bit) {
        return ((int) FLAGS.getAndBitwiseOr(this, 1 << bit) & (1 << bit)) != 0;
    }

    /** test_and_clear_bit(). */
    public boolean testAndClear(int bit) {
        return ((int) FLAGS.getAndBitwiseAnd(this, ~(1 << bit)) & (1 << bit)) != 0;
    }

    public boolean locked() {
        return test(PG_locked);
    }

    public boolean uptodate() {
        return test(PG_uptodate);
    }

    public boolean swapCache() {
        return test(PG_swap_cache);
    }

    /** Who ends the IO this page is locked for; told by whoever locks it for IO. */
    public void setIo(Waitable owner) {
        this.io = owner;
    }

    /** clear_bit(PG_locked); wake_up(&page->wait). */
    public void unlockPage() {
        io = null;
        clear(PG_locked);
        wait.wakeAll();
    }

    /** wake_up(&page->wait) without unlocking (a new owner of the IO, waiters re-read it). */
    public void wakeWaiters() {
        wait.wakeAll();
    }

    /**
     * wait_on_page() / __wait_on_page(): runs tq_disk, as the 2.2 waiter itself does, then sleeps in D state
     * until PG_locked is clear. The caller holds a reference.
     */
    public void waitOnPage() {
        if (!locked()) {
            return;
        }
        Task t = Task.current();
        t.mightSleep("wait_on_page");
        mm.blk().runTqDisk();
        Sleep.sleep(t, this, WaitKind.BIT, Task.TASK_UNINTERRUPTIBLE, -1, wait, () -> !locked());
    }

    /** A freshly allocated page: nothing left over from its previous life. */
    void reset() {
        flags = 0;
        inode = null;
        offset = 0;
        buffers = null;
        io = null;
    }

    @Override
    public String name() {
        Mapping22 m = inode;
        return "PG_locked of pfn " + pfn + (m == null ? "" : " (" + m.name() + " offset " + offset + ")");
    }

    @Override
    public void wakers(WakerSink out) {
        Waitable w = io;
        if (w != null) {
            w.wakers(out);
        }
    }

    @Override
    public String toString() {
        return "page " + pfn + " flags 0x" + Integer.toHexString(flags) + (inode == null ? "" : " " + inode.name() + "@" + offset);
    }
}
