package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.Sleep;
import dev.reclaimlab.locking.WaitKind;
import dev.reclaimlab.locking.Waitable;
import dev.reclaimlab.locking.WakerSink;
import org.agrona.UnsafeApi;

/**
 * mem_map: the struct page array, off-heap, 64 bytes a page. Field layout (the kernel overlays its
 * unions the same way: slab pages and page-cache pages use the words at 32..47 differently):
 * <pre>
 *  0 flags (long, atomic bit ops)    8 _refcount (int)     12 state (int, allocator's own)
 * 16 order (int)                    20 lru.next (pfn)      24 lru.prev (pfn)
 * 28 compound_head (pfn)            32 slab_cache id | mapping id
 * 36 inuse (slab)                   40 frozen (slab)       44 objects (slab)
 * 48 freelist (slab) | private      56 index
 * </pre>
 * Accessors are unchecked: callers pass pfns the allocator validated.
 */
final class MemMap {
    static final int STRUCT_PAGE_SIZE = 64;
    private static final int FLAGS = 0;
    private static final int REFCOUNT = 8;
    private static final int STATE = 12;
    private static final int ORDER = 16;
    private static final int LRU_NEXT = 20;
    private static final int LRU_PREV = 24;
    private static final int COMPOUND_HEAD = 28;
    private static final int SLAB_CACHE = 32;
    private static final int INUSE = 36;
    private static final int FROZEN = 40;
    private static final int OBJECTS = 44;
    private static final int FREELIST = 48;
    private static final int INDEX = 56;

    /** Inside a free buddy block, not its head. */
    static final int STATE_NONE = 0;
    /** Head of a block on a buddy free list (PageBuddy()). */
    static final int STATE_BUDDY = 1;
    /** On a per-CPU page list. */
    static final int STATE_PCP = 2;
    /** First page of an allocation. */
    static final int STATE_ALLOC = 3;
    /** Any other page of an allocation of order > 0. */
    static final int STATE_TAIL = 4;

    static final int NO_PFN = -1;

    private final long base;
    private final int nrPages;
    private final OffHeap offHeap;

    MemMap(int nrPages, OffHeap offHeap) {
        this.nrPages = nrPages;
        this.offHeap = offHeap;
        this.base = offHeap.allocate((long) nrPages * STRUCT_PAGE_SIZE, "mem_map");
        for (int pfn = 0; pfn < nrPages; pfn++) {
            setLruNext(pfn, NO_PFN);
            setLruPrev(pfn, NO_PFN);
            setCompoundHead(pfn, pfn);
        }
    }

    private long p(int pfn) {
        return base + (long) pfn * STRUCT_PAGE_SIZE;
    }

    int nrPages() {
        return nrPages;
    }

    long flags(int pfn) {
        return UnsafeApi.getLongVolatile(null, p(pfn) + FLAGS);
    }

    /** Sets the whole flag word of a page nobody else can see yet (being handed out or freed). */
    void setFlagsPlain(int pfn, long flags) {
        UnsafeApi.putLongRelease(null, p(pfn) + FLAGS, flags);
    }

    boolean testFlag(int pfn, int bit) {
        return (flags(pfn) & (1L << bit)) != 0;
    }

    /** set_bit(). */
    void setFlag(int pfn, int bit) {
        UnsafeApi.getAndBitwiseOrLong(null, p(pfn) + FLAGS, 1L << bit);
    }

    /** clear_bit(). */
    void clearFlag(int pfn, int bit) {
        UnsafeApi.getAndBitwiseAndLong(null, p(pfn) + FLAGS, ~(1L << bit));
    }

    /** test_and_set_bit_lock(): true when this call set it. */
    boolean testAndSetFlag(int pfn, int bit) {
        return (UnsafeApi.getAndBitwiseOrLong(null, p(pfn) + FLAGS, 1L << bit) & (1L << bit)) == 0;
    }

    /**
     * bit_spin_lock(): the slab_lock() of SLUB on PG_locked. A spinner that has to wait publishes a record;
     * its holder is not tracked (the kernel does not track it either), so the wait shows with an unknown waker.
     */
    void bitSpinLock(int pfn, int bit) {
        long mask = 1L << bit;
        long addr = p(pfn) + FLAGS;
        if ((UnsafeApi.getAndBitwiseOrLongAcquire(null, addr, mask) & mask) == 0) {
            return;
        }
        Sleep.spin(Task.currentOrNull(), new BitSpin(pfn, bit), WaitKind.BIT_SPINLOCK, new Sleep.SpinCondition() {
            @Override
            public boolean looksFree() {
                return (UnsafeApi.getLongVolatile(null, addr) & mask) == 0;
            }

            @Override
            public boolean tryAcquire() {
                return (UnsafeApi.getAndBitwiseOrLongAcquire(null, addr, mask) & mask) == 0;
            }
        });
    }

    /** A bit spin lock of one struct page, as a wait record names it. */
    private record BitSpin(int pfn, int bit) implements Waitable {
        @Override
        public String name() {
            return "bit_spin_lock " + PageFlags.name(bit) + " of pfn " + pfn;
        }

        @Override
        public void wakers(WakerSink out) {
            // Unknown: bit spin locks have no owner field.
        }
    }

    void bitSpinUnlock(int pfn, int bit) {
        UnsafeApi.getAndBitwiseAndLongRelease(null, p(pfn) + FLAGS, ~(1L << bit));
    }

    int refcount(int pfn) {
        return UnsafeApi.getIntVolatile(null, p(pfn) + REFCOUNT);
    }

    /** set_page_count() on a page this task owns alone (new, or frozen at zero). */
    void setRefcount(int pfn, int v) {
        UnsafeApi.putIntRelease(null, p(pfn) + REFCOUNT, v);
    }

    /** page_ref_add_return(). */
    int addRefcount(int pfn, int delta) {
        return UnsafeApi.getAndAddInt(null, p(pfn) + REFCOUNT, delta) + delta;
    }

    int state(int pfn) {
        return UnsafeApi.getInt(p(pfn) + STATE);
    }

    void setState(int pfn, int s) {
        UnsafeApi.putInt(p(pfn) + STATE, s);
    }

    int order(int pfn) {
        return UnsafeApi.getInt(p(pfn) + ORDER);
    }

    void setOrder(int pfn, int o) {
        UnsafeApi.putInt(p(pfn) + ORDER, o);
    }

    int lruNext(int pfn) {
        return UnsafeApi.getInt(p(pfn) + LRU_NEXT);
    }

    void setLruNext(int pfn, int v) {
        UnsafeApi.putInt(p(pfn) + LRU_NEXT, v);
    }

    int lruPrev(int pfn) {
        return UnsafeApi.getInt(p(pfn) + LRU_PREV);
    }

    void setLruPrev(int pfn, int v) {
        UnsafeApi.putInt(p(pfn) + LRU_PREV, v);
    }

    int compoundHead(int pfn) {
        return UnsafeApi.getInt(p(pfn) + COMPOUND_HEAD);
    }

    void setCompoundHead(int pfn, int head) {
        UnsafeApi.putInt(p(pfn) + COMPOUND_HEAD, head);
    }

    int slabCache(int pfn) {
        return UnsafeApi.getInt(p(pfn) + SLAB_CACHE);
    }

    void setSlabCache(int pfn, int id) {
        UnsafeApi.putInt(p(pfn) + SLAB_CACHE, id);
    }

    /** page_ref_freeze(): takes the count from {@code expected} to 0 atomically, as remove_mapping() needs. */
    boolean refFreeze(int pfn, int expected) {
        return UnsafeApi.compareAndSetInt(null, p(pfn) + REFCOUNT, expected, 0);
    }

    /** get_page_unless_zero(): a reference, unless the page is being freed. */
    boolean getPageUnlessZero(int pfn) {
        long a = p(pfn) + REFCOUNT;
        for (;;) {
            int c = UnsafeApi.getIntVolatile(null, a);
            if (c <= 0) {
                return false;
            }
            if (UnsafeApi.compareAndSetInt(null, a, c, c + 1)) {
                return true;
            }
        }
    }

    /** page->mapping of a page-cache page: the AddressSpace id, 0 for none. */
    int mapping(int pfn) {
        return UnsafeApi.getIntVolatile(null, p(pfn) + SLAB_CACHE);
    }

    void setMapping(int pfn, int id) {
        UnsafeApi.putIntVolatile(null, p(pfn) + SLAB_CACHE, id);
    }

    /** The pid holding PG_locked, for the watchdog (the kernel does not track it). */
    int lockOwner(int pfn) {
        return UnsafeApi.getIntVolatile(null, p(pfn) + OBJECTS);
    }

    void setLockOwner(int pfn, int pid) {
        UnsafeApi.putIntVolatile(null, p(pfn) + OBJECTS, pid);
    }

    /** The pid owed the end of this page's writeback (who holds its bio), 0 when unknown. */
    int writebackOwner(int pfn) {
        return UnsafeApi.getIntVolatile(null, p(pfn) + INUSE);
    }

    void setWritebackOwner(int pfn, int pid) {
        UnsafeApi.putIntVolatile(null, p(pfn) + INUSE, pid);
    }

    int inuse(int pfn) {
        return UnsafeApi.getInt(p(pfn) + INUSE);
    }

    void setInuse(int pfn, int v) {
        UnsafeApi.putInt(p(pfn) + INUSE, v);
    }

    boolean frozen(int pfn) {
        return UnsafeApi.getInt(p(pfn) + FROZEN) != 0;
    }

    void setFrozen(int pfn, boolean f) {
        UnsafeApi.putInt(p(pfn) + FROZEN, f ? 1 : 0);
    }

    int objects(int pfn) {
        return UnsafeApi.getInt(p(pfn) + OBJECTS);
    }

    void setObjects(int pfn, int v) {
        UnsafeApi.putInt(p(pfn) + OBJECTS, v);
    }

    long freelist(int pfn) {
        return UnsafeApi.getLong(p(pfn) + FREELIST);
    }

    void setFreelist(int pfn, long v) {
        UnsafeApi.putLong(p(pfn) + FREELIST, v);
    }

    long privateData(int pfn) {
        return UnsafeApi.getLong(p(pfn) + FREELIST);
    }

    void setPrivateData(int pfn, long v) {
        UnsafeApi.putLong(p(pfn) + FREELIST, v);
    }

    long index(int pfn) {
        return UnsafeApi.getLong(p(pfn) + INDEX);
    }

    void setIndex(int pfn, long v) {
        UnsafeApi.putLong(p(pfn) + INDEX, v);
    }

    /** Resets the words a new owner interprets (slab or page cache) when a page is handed out. */
    void clearOwnerFields(int pfn) {
        long a = p(pfn);
        UnsafeApi.putInt(a + SLAB_CACHE, 0);
        UnsafeApi.putInt(a + INUSE, 0);
        UnsafeApi.putInt(a + FROZEN, 0);
        UnsafeApi.putInt(a + OBJECTS, 0);
        UnsafeApi.putLong(a + FREELIST, 0);
        UnsafeApi.putLong(a + INDEX, 0);
    }

    void release() {
        offHeap.free(base, (long) nrPages * STRUCT_PAGE_SIZE);
    }
}
