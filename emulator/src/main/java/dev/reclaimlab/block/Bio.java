package dev.reclaimlab.block;

import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Completion;
import dev.reclaimlab.locking.Waitable;
import dev.reclaimlab.locking.WakerSink;

import java.util.function.Consumer;

/**
 * struct bio (include/linux/blk_types.h): one IO to a block device, a list of page segments (bio_vec)
 * starting at a 512-byte sector. Its completion is owed by whoever holds it right now: the submitter
 * until a device takes it, then the task that will end it ({@link #setOwner}), or, while it waits in a
 * queue any of several tasks may take it from, whoever that queue names when asked
 * ({@link #setOwnersFrom}: a queued work names every worker of its pool and its rescuer).
 *
 * <p>A bio is itself a {@link Waitable}: a wait that follows it (the page lock of a read, a page's
 * writeback, an iclog's IO) declares the bio and so inherits every task it names, read when the watchdog
 * asks.
 */
public final class Bio implements Waitable {
    public enum Op { READ, WRITE, FLUSH }

    public static final int SECTOR_SHIFT = 9;
    public static final int SECTOR_SIZE = 1 << SECTOR_SHIFT;

    private final Op op;
    private final long sector;
    private final int[] pfns;
    private final int[] offsets;
    private final int[] lens;
    private int vcnt;
    private long size;
    private final Completion done;
    private volatile int status;
    private volatile Task owner;
    private volatile boolean ended;
    private BioEndIo endIo;
    private Consumer<Task> ownerListener;
    private Object privateData;
    private boolean reqSync;

    /** bio_alloc(): an empty bio of {@code op} at {@code sector} with room for {@code maxVecs} segments. */
    public Bio(Op op, long sector, int maxVecs) {
        if (op == null || sector < 0 || maxVecs < 0 || (op != Op.FLUSH && maxVecs == 0)) {
            throw new IllegalArgumentException("bio_alloc: bad op " + op + ", sector " + sector + " or "
                    + maxVecs + " vecs");
        }
        this.op = op;
        this.sector = sector;
        this.pfns = new int[maxVecs];
        this.offsets = new int[maxVecs];
        this.lens = new int[maxVecs];
        this.done = new Completion("bio " + op + " @" + sector);
        this.owner = Task.current();
        done.expectWaker(owner);
    }

    public Op op() {
        return op;
    }

    /** bi_iter.bi_sector. */
    public long sector() {
        return sector;
    }

    /** bio_add_page(): appends {@code len} bytes of page {@code pfn} at {@code offset}; false when full. */
    public boolean addPage(int pfn, int len, int offset) {
        if (pfn < 0) {
            throw new IllegalArgumentException("bio_add_page(pfn " + pfn + "): not a page");
        }
        if (len <= 0 || offset < 0 || offset > 4096 - len || (len & (SECTOR_SIZE - 1)) != 0
                || (offset & (SECTOR_SIZE - 1)) != 0) {
            throw new IllegalArgumentException("bio_add_page(pfn " + pfn + ", len " + len + ", offset " + offset
                    + "): segments are whole sectors inside one page");
        }
        if (vcnt == pfns.length) {
            return false;
        }
        pfns[vcnt] = pfn;
        offsets[vcnt] = offset;
        lens[vcnt] = len;
        vcnt++;
        size += len;
        return true;
    }

    public int vcnt() {
        return vcnt;
    }

    public int pfn(int i) {
        return pfns[i];
    }

    public int offset(int i) {
        return offsets[i];
    }

    public int len(int i) {
        return lens[i];
    }

    /**
     * REQ_SYNC: a write someone waits for (WRITE_SYNC: fsync's WB_SYNC_ALL writeback, a log write), queued
     * with the reads, apart from background writeback.
     */
    public Bio setReqSync() {
        this.reqSync = true;
        return this;
    }

    /** rw_is_sync(): reads, flushes and REQ_SYNC writes are sync; other writes are async (BLK_RW_ASYNC). */
    public boolean rwIsSync() {
        return op != Op.WRITE || reqSync;
    }

    /** bi_iter.bi_size in bytes. */
    public long size() {
        return size;
    }

    /** bi_end_io: called once, in the completing task, before waiters wake. */
    public Bio setEndIo(BioEndIo e) {
        this.endIo = e;
        return this;
    }

    /**
     * Told whenever the bio changes hands: the task that holds it, or null while it waits for any of
     * several. A wait that follows the bio should rather declare the bio itself as its waker.
     */
    public Bio setOwnerListener(Consumer<Task> l) {
        this.ownerListener = l;
        return this;
    }

    public Object privateData() {
        return privateData;
    }

    public Bio setPrivateData(Object p) {
        this.privateData = p;
        return this;
    }

    /** The one task that holds the bio and owes its completion, or null while it is queued for several. */
    public Task owner() {
        return owner;
    }

    /** A device or layer took the bio: waits for it are now owed by {@code t}. */
    public void setOwner(Task t) {
        owner = t;
        // Replaces a declaration by setOwnersFrom() in one step: a reader sees the old or the new one.
        done.expectWaker(t);
        Consumer<Task> l = ownerListener;
        if (l != null) {
            l.accept(t);
        }
    }

    /**
     * The bio waits in a queue that any of several tasks may take it from: waits for it are owed by whoever
     * {@code source} names whenever the watchdog asks (a queued work: its pool's workers and rescuer; the
     * same work running: its worker). The one that takes it calls {@link #setOwner}.
     */
    public void setOwnersFrom(Waitable source) {
        if (source == null) {
            throw new IllegalArgumentException("setOwnersFrom(" + this + "): a source of owners is required");
        }
        owner = null;
        done.expectWakersFrom(source);
        Consumer<Task> l = ownerListener;
        if (l != null) {
            l.accept(null);
        }
    }

    /** The bio's completion, as waiters see it: "bio WRITE @8". */
    @Override
    public String name() {
        return done.name();
    }

    /** Who can end this IO now: its holder, or whoever its queue names. */
    @Override
    public void wakers(WakerSink out) {
        done.wakers(out);
    }

    /** 0 or a negative errno once ended. */
    public int status() {
        return status;
    }

    public boolean ended() {
        return ended;
    }

    /** bio_endio(): records {@code err} (0 or negative errno), runs bi_end_io, wakes waiters. */
    public void bioEndio(int err) {
        if (ended) {
            throw new IllegalStateException("bio_endio(" + this + "): bio already ended");
        }
        status = err;
        ended = true;
        BioEndIo e = endIo;
        if (e != null) {
            e.bioEndIo(this);
        }
        done.completeAll();
    }

    /** Waits in D state until the bio ended; the wait is owed by its current holder. */
    public int waitForCompletion() {
        done.waitForCompletion();
        return status;
    }

    @Override
    public String toString() {
        return "bio " + op + " sector " + sector + " size " + size;
    }
}
