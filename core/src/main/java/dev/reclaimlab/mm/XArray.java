package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.RawSpinLock;

import static dev.reclaimlab.kernel.Errno.EEXIST;
import static dev.reclaimlab.kernel.Errno.ENOMEM;

/**
 * lib/xarray.c (the radix tree of lib/radix-tree.c that indexed the page cache in 2015): a map from
 * non-negative long indexes to non-zero long values, as the page cache maps file offsets to pfn + 1.
 *
 * <p>Nodes are 64-slot {@code struct xa_node}s in kernel memory, allocated from the kernel's one
 * {@code radix_tree_node} cache ({@link Mm#radixTreeNodeCache()}) with the caller's gfp, so a GFP_KERNEL
 * page cache insert can enter direct reclaim: the 2015 deadlock's "radix tree alloc -> memory reclaim".
 *
 * <p>Node layout ({@link #NODE_SIZE} bytes), the first bytes as struct xa_node begins:
 * <pre>
 *   +0   u8   shift     bits of the index below this node: 0 for a leaf, up to 60
 *   +1   u8   offset    this node's slot in its parent
 *   +2   u8   count     non-empty slots
 *   +3   u8   exceptional  of them, exceptional entries (the page cache's shadows)
 *   +4   u8   tracked   1 while the node is on the workingset's shadow-node list
 *   +5   3 bytes zero
 *   +8   u64  parent    kernel address of the parent node, 0 at the root
 *   +16  u64  private_data  the owner's id (the page cache's mapping), for the shadow-node list
 *   +24  u64  private_list  prev and next nodes on that list (kernel addresses, 0 at the ends)
 *   +40  u64  slots[64] a leaf holds values, an inner node the kernel addresses of its children
 * </pre>
 * A node's shift says what its slots hold, so values need no tag bits. The head ({@code xa_head}) is 0,
 * a node, or, while index 0 is the only entry, that value itself, as the kernel keeps it.
 *
 * <p>The page cache inserts as 4.3's radix tree did ({@link #radixTreeInsert}): nodes preloaded per CPU
 * with the caller's gfp before the lock ({@link RadixTreePreload}), taken under it.
 *
 * <p>Locking: {@code xa_lock} guards the tree and, except for {@link #radixTreeInsert}'s GFP_ATOMIC
 * fallback, is never held while allocating or freeing nodes. A store
 * counts under the lock the nodes it needs; if it lacks some, it drops the lock, allocates them with its
 * gfp, retakes the lock and counts again (xas_nomem()). A failed store leaves the tree as it was.
 * Nodes taken out of the tree are freed after the lock is dropped.
 */
public final class XArray {
    public static final int XA_CHUNK_SHIFT = 6;
    public static final int XA_CHUNK_SIZE = 1 << XA_CHUNK_SHIFT;
    private static final int XA_CHUNK_MASK = XA_CHUNK_SIZE - 1;
    /** The root's shift for the largest index, Long.MAX_VALUE (63 bits). */
    private static final int MAX_SHIFT = 60;

    static final int NODE_HEADER = 0;
    static final int NODE_PARENT = 8;
    static final int NODE_PRIVATE_DATA = 16;
    static final int NODE_LIST_PREV = 24;
    static final int NODE_LIST_NEXT = 32;
    static final int NODE_SLOTS = 40;
    public static final int NODE_SIZE = NODE_SLOTS + XA_CHUNK_SIZE * 8;
    /**
     * RADIX_TREE_EXCEPTIONAL_ENTRY: a value with this bit is no page but a shadow of an evicted one (4.3's
     * workingset); lookups for pages pass over it. Values below it are the page cache's pfn + 1.
     */
    public static final long XA_EXCEPTIONAL = 1L << 62;

    /** radix_tree_exceptional_entry(). */
    public static boolean isExceptional(long entry) {
        return (entry & XA_EXCEPTIONAL) != 0;
    }

    /**
     * The page cache's hooks into its index (page_cache_tree_insert/delete() in 4.3's mm/filemap.c): a
     * leaf that holds shadows and no page goes on the workingset's list, and off it when it gets a page
     * or loses its shadows. Called with xa_lock held.
     */
    interface ShadowNodes {
        void track(long node);

        void untrack(long node);
    }


    private final Mm mm;
    private final PhysMem mem;
    private final KmemCache cache;
    private final String name;
    final RawSpinLock xaLock;
    private final ShadowNodes shadowNodes;
    private final long ownerId;

    // Guarded by xaLock.
    private long head;
    private boolean headIsNode;
    private long nrEntries;
    private long nrExceptional;
    private long nrNodes;
    private boolean destroyed;
    /** Preallocated nodes a store may use (xas->xa_alloc), linked through their parent word. */
    private long xaAlloc;
    /** Nodes unlinked under the lock, to free after it is dropped, linked through their parent word. */
    private long xaFree;

    public XArray(Mm mm, String name) {
        this(mm, name, null, 0);
    }

    /** A page cache's index: shadow-only leaves are reported to {@code shadowNodes} with {@code ownerId}. */
    XArray(Mm mm, String name, ShadowNodes shadowNodes, long ownerId) {
        if (mm == null || name == null || name.isBlank()) {
            throw new IllegalArgumentException("xa_init: an XArray needs a kernel's mm and a name");
        }
        this.mm = mm;
        this.mem = mm.mem();
        this.cache = mm.radixTreeNodeCache();
        this.name = name;
        this.xaLock = new RawSpinLock(name + ".xa_lock");
        this.shadowNodes = shadowNodes;
        this.ownerId = ownerId;
    }

    public String name() {
        return name;
    }

    // ---------------------------------------------------------------- node words

    private int shift(long node) {
        return (int) (mem.getLongRaw(node + NODE_HEADER) & 0xff);
    }

    private int offset(long node) {
        return (int) ((mem.getLongRaw(node + NODE_HEADER) >>> 8) & 0xff);
    }

    private int count(long node) {
        return (int) ((mem.getLongRaw(node + NODE_HEADER) >>> 16) & 0xff);
    }

    private int exceptional(long node) {
        return (int) ((mem.getLongRaw(node + NODE_HEADER) >>> 24) & 0xff);
    }

    private boolean tracked(long node) {
        return ((mem.getLongRaw(node + NODE_HEADER) >>> 32) & 0xff) != 0;
    }

    private void setHeader(long node, int shift, int offset, int count) {
        long keep = mem.getLongRaw(node + NODE_HEADER) & 0xffff_ffff_ff00_0000L;
        mem.putLongRaw(node + NODE_HEADER, keep | shift | (long) offset << 8 | (long) count << 16);
    }

    private void addCount(long node, int delta) {
        setHeader(node, shift(node), offset(node), count(node) + delta);
    }

    private void addExceptional(long node, int delta) {
        long h = mem.getLongRaw(node + NODE_HEADER);
        int e = (int) ((h >>> 24) & 0xff) + delta;
        mem.putLongRaw(node + NODE_HEADER, (h & ~(0xffL << 24)) | (long) e << 24);
    }

    /** Leaf with shadows and no page: on the shadow list; with a page, or empty: off it. xa_lock held. */
    private void updateShadowTracking(long node) {
        if (shadowNodes == null || shift(node) != 0) {
            return;
        }
        int c = count(node);
        boolean shadowOnly = c > 0 && exceptional(node) == c;
        if (shadowOnly && !tracked(node)) {
            mem.putLongRaw(node + NODE_PRIVATE_DATA, ownerId);
            shadowNodes.track(node);
        } else if (!shadowOnly && tracked(node)) {
            shadowNodes.untrack(node);
        }
    }

    private long parent(long node) {
        return mem.getLongRaw(node + NODE_PARENT);
    }

    private void setParent(long node, long parent) {
        mem.putLongRaw(node + NODE_PARENT, parent);
    }

    private long slot(long node, int off) {
        return mem.getLongRaw(node + NODE_SLOTS + ((long) off << 3));
    }

    private void setSlot(long node, int off, long entry) {
        mem.putLongRaw(node + NODE_SLOTS + ((long) off << 3), entry);
    }

    /** The largest index a node of {@code shift} can reach (xa_node_max_index()). */
    private static long maxIndex(int shift) {
        return shift + XA_CHUNK_SHIFT >= 63 ? Long.MAX_VALUE : (1L << (shift + XA_CHUNK_SHIFT)) - 1;
    }

    /** The smallest root shift whose node reaches {@code index}. */
    private static int shiftFor(long index) {
        int shift = 0;
        while (maxIndex(shift) < index) {
            shift += XA_CHUNK_SHIFT;
        }
        return shift;
    }

    // ---------------------------------------------------------------- xa_load

    /** xa_load(): the value at {@code index}, or 0. */
    public long xaLoad(long index) {
        checkIndex(index, "xaLoad");
        xaLock.lock();
        try {
            checkAlive("xaLoad");
            return loadLocked(index);
        } finally {
            xaLock.unlock();
        }
    }

    private long loadLocked(long index) {
        if (!headIsNode) {
            return index == 0 ? head : 0;
        }
        long node = head;
        int shift = shift(node);
        if (index > maxIndex(shift)) {
            return 0;
        }
        for (;;) {
            long entry = slot(node, (int) (index >>> shift) & XA_CHUNK_MASK);
            if (shift == 0 || entry == 0) {
                return entry;
            }
            node = entry;
            shift -= XA_CHUNK_SHIFT;
        }
    }

    // ---------------------------------------------------------------- xa_store

    /**
     * xa_store(): stores {@code value} at {@code index}, replacing what was there. Returns 0, or -ENOMEM
     * when the nodes it needs could not be allocated with {@code gfp}; then the tree is unchanged.
     */
    public int xaStore(long index, long value, int gfp) {
        return store(index, value, gfp, false, "xaStore");
    }

    /**
     * xa_insert(): as {@link #xaStore} but only into an empty slot: -EEXIST if {@code index} holds an
     * entry, which then stays. The page cache inserts this way, so two tasks filling one index race safely.
     */
    public int xaInsert(long index, long value, int gfp) {
        return store(index, value, gfp, true, "xaInsert");
    }

    /**
     * radix_tree_insert() into a tree whose root gfp cannot block, as the 4.3 page cache's (GFP_ATOMIC):
     * under xa_lock, each node the insert needs comes from the preload of {@code cpu}, which the caller
     * holds since {@link RadixTreePreload#radixTreeMaybePreload}, else from kmem_cache_alloc(GFP_ATOMIC).
     * A shadow entry at {@code index} is replaced (page_cache_tree_insert()). Returns 0, the replaced
     * shadow (positive, exceptional), -EEXIST (a page stays there), or -ENOMEM (the tree is unchanged).
     */
    public long radixTreeInsert(long index, long value, RadixTreePreload preload, int cpu) {
        checkIndex(index, "radixTreeInsert");
        if (value == 0) {
            throw new IllegalArgumentException(who("radixTreeInsert") + ": value 0 at index " + index
                    + " is the empty slot");
        }
        Task t = Task.current();
        if (t == null || t.preemptCount() == 0 || t.cpu() != cpu) {
            throw new IllegalStateException(who("radixTreeInsert") + ": the caller must hold CPU" + cpu
                    + " from radix_tree_maybe_preload()");
        }
        long spares = 0;
        xaLock.lock();
        try {
            checkAlive("radixTreeInsert");
            long old = loadLocked(index);
            if (old != 0) {
                if (!isExceptional(old)) {
                    return -EEXIST;
                }
                storeLocked(index, value);
                return old;
            }
            for (int needed = nodesNeeded(index); needed > 0; needed--) {
                long node = preload.radixTreeNodeAlloc(cpu);
                if (node == 0) {
                    return -ENOMEM;
                }
                setParent(node, spares);
                spares = node;
            }
            xaAlloc = spares;
            storeLocked(index, value);
            spares = xaAlloc;
            xaAlloc = 0;
            return 0;
        } finally {
            xaLock.unlock();
            freeList(spares);
        }
    }

    private int store(long index, long value, int gfp, boolean insert, String op) {
        checkIndex(index, op);
        if (value == 0) {
            throw new IllegalArgumentException(who(op) + ": value 0 at index " + index
                    + " is the empty slot; use xaErase to remove an entry");
        }
        if ((gfp & ~Gfp.__GFP_BITS_MASK) != 0) {
            Gfp.check(gfp, who(op));
        }
        long spares = 0;
        int nrSpares = 0;
        try {
            for (;;) {
                xaLock.lock();
                try {
                    checkAlive(op);
                    if (insert && loadLocked(index) != 0) {
                        return -EEXIST;
                    }
                    int needed = nodesNeeded(index);
                    if (needed <= nrSpares) {
                        xaAlloc = spares;
                        storeLocked(index, value);
                        spares = xaAlloc;
                        xaAlloc = 0;
                        return 0;
                    }
                } finally {
                    xaLock.unlock();
                }
                // xas_nomem(): allocate one node without the lock, then count again.
                long node = mm.kmemCacheAlloc(cache, gfp);
                if (node == 0) {
                    return -ENOMEM;
                }
                setParent(node, spares);
                spares = node;
                nrSpares++;
            }
        } finally {
            freeList(spares);
        }
    }

    /**
     * How many new nodes storing at {@code index} takes: the levels that expand the tree upwards plus the
     * nodes missing on the path down. An index beyond the current root leaves the chain of expansion
     * nodes at the new root, whose slot for it is not 0.
     */
    private int nodesNeeded(long index) {
        if (!headIsNode) {
            if (index == 0) {
                return 0;
            }
            int shift = shiftFor(index);
            int expand = head != 0 ? shift / XA_CHUNK_SHIFT + 1 : 1;
            return expand + shift / XA_CHUNK_SHIFT;
        }
        long node = head;
        int shift = shift(node);
        if (index > maxIndex(shift)) {
            int target = shiftFor(index);
            return (target - shift) / XA_CHUNK_SHIFT + target / XA_CHUNK_SHIFT;
        }
        while (shift > 0) {
            long child = slot(node, (int) (index >>> shift) & XA_CHUNK_MASK);
            if (child == 0) {
                return shift / XA_CHUNK_SHIFT;
            }
            node = child;
            shift -= XA_CHUNK_SHIFT;
        }
        return 0;
    }

    /** xas_create() and xas_store() with enough nodes in {@link #xaAlloc}. xa_lock held. */
    private void storeLocked(long index, long value) {
        if (!headIsNode) {
            if (index == 0) {
                if (head == 0) {
                    nrEntries++;
                }
                nrExceptional += (isExceptional(value) ? 1 : 0) - (isExceptional(head) ? 1 : 0);
                head = value;
                return;
            }
            if (head != 0) {
                // xas_expand() of a head entry: it becomes slot 0 of a leaf.
                long leaf = takeNode(0, 0, 0);
                setSlot(leaf, 0, head);
                setHeader(leaf, 0, 0, 1);
                if (isExceptional(head)) {
                    addExceptional(leaf, 1);
                }
                head = leaf;
            } else {
                head = takeNode(shiftFor(index), 0, 0);
            }
            headIsNode = true;
        }
        while (index > maxIndex(shift(head))) {
            long root = takeNode(shift(head) + XA_CHUNK_SHIFT, 0, 0);
            setSlot(root, 0, head);
            setHeader(root, shift(head) + XA_CHUNK_SHIFT, 0, 1);
            setParent(head, root);
            head = root;
        }
        long node = head;
        for (int shift = shift(node); ; shift -= XA_CHUNK_SHIFT) {
            int off = (int) (index >>> shift) & XA_CHUNK_MASK;
            long entry = slot(node, off);
            if (shift == 0) {
                setSlot(node, off, value);
                if (entry == 0) {
                    addCount(node, 1);
                    nrEntries++;
                }
                int dx = (isExceptional(value) ? 1 : 0) - (isExceptional(entry) ? 1 : 0);
                if (dx != 0) {
                    addExceptional(node, dx);
                    nrExceptional += dx;
                }
                updateShadowTracking(node);
                return;
            }
            if (entry == 0) {
                entry = takeNode(shift - XA_CHUNK_SHIFT, off, node);
                setSlot(node, off, entry);
                addCount(node, 1);
            }
            node = entry;
        }
    }

    /** xas_alloc() from the preallocated nodes: an empty node of {@code shift}. */
    private long takeNode(int shift, int offset, long parent) {
        long node = xaAlloc;
        if (node == 0) {
            throw new IllegalStateException(who("xaStore") + ": counted too few nodes (xarray bug)");
        }
        xaAlloc = parent(node);
        mem.memset(node, 0, NODE_SIZE);
        setHeader(node, shift, offset, 0);
        setParent(node, parent);
        nrNodes++;
        return node;
    }

    // ---------------------------------------------------------------- xa_erase

    /** xa_erase(): removes the entry at {@code index}; returns it, or 0 if there was none. */
    public long xaErase(long index) {
        checkIndex(index, "xaErase");
        long dead;
        long old;
        xaLock.lock();
        try {
            checkAlive("xaErase");
            old = eraseLocked(index);
            dead = xaFree;
            xaFree = 0;
        } finally {
            xaLock.unlock();
        }
        freeList(dead);
        return old;
    }

    /** xa_cmpxchg(entry, NULL): erases {@code index} only if it still holds {@code expected}. True if it did. */
    public boolean xaEraseIf(long index, long expected) {
        checkIndex(index, "xaEraseIf");
        long dead;
        boolean erased = false;
        xaLock.lock();
        try {
            checkAlive("xaEraseIf");
            if (expected != 0 && loadLocked(index) == expected) {
                eraseLocked(index);
                erased = true;
            }
            dead = xaFree;
            xaFree = 0;
        } finally {
            xaLock.unlock();
        }
        freeList(dead);
        return erased;
    }

    private long eraseLocked(long index) {
        if (!headIsNode) {
            if (index != 0 || head == 0) {
                return 0;
            }
            long old = head;
            head = 0;
            nrEntries--;
            if (isExceptional(old)) {
                nrExceptional--;
            }
            return old;
        }
        long node = head;
        int shift = shift(node);
        if (index > maxIndex(shift)) {
            return 0;
        }
        for (; shift > 0; shift -= XA_CHUNK_SHIFT) {
            node = slot(node, (int) (index >>> shift) & XA_CHUNK_MASK);
            if (node == 0) {
                return 0;
            }
        }
        int off = (int) index & XA_CHUNK_MASK;
        long old = slot(node, off);
        if (old == 0) {
            return 0;
        }
        setSlot(node, off, 0);
        addCount(node, -1);
        nrEntries--;
        if (isExceptional(old)) {
            addExceptional(node, -1);
            nrExceptional--;
        }
        if (count(node) > 0) {
            updateShadowTracking(node);
        }
        deleteEmptyNodes(node);
        shrink();
        return old;
    }

    /**
     * page_cache_tree_delete() with a shadow: the page at {@code index} gives way to {@code shadow}, an
     * exceptional entry; its leaf, left with shadows only, joins the shadow-node list. Returns the page's
     * entry, or 0 (and stores nothing) if the index held no page.
     */
    public long replaceWithShadow(long index, long shadow) {
        checkIndex(index, "replaceWithShadow");
        if (!isExceptional(shadow)) {
            throw new IllegalArgumentException(who("replaceWithShadow") + ": 0x" + Long.toHexString(shadow)
                    + " is not an exceptional entry");
        }
        xaLock.lock();
        try {
            checkAlive("replaceWithShadow");
            long old = loadLocked(index);
            if (old == 0 || isExceptional(old)) {
                return 0;
            }
            storeLocked(index, shadow);
            return old;
        } finally {
            xaLock.unlock();
        }
    }

    /**
     * shadow_lru_isolate()'s work on a leaf the shadow-node list gave up: clears its shadows and frees it
     * (and ancestors left empty). The caller holds xa_lock and took the node off the list. Returns the
     * retired nodes, to free with {@link #freeNodes} once xa_lock is dropped.
     */
    long reclaimShadowNodeLocked(long node) {
        if (shift(node) != 0 || count(node) != exceptional(node)) {
            throw new IllegalStateException(who("reclaimShadowNode") + ": node 0x" + Long.toHexString(node)
                    + " holds pages (" + count(node) + " entries, " + exceptional(node) + " shadows)");
        }
        for (int off = 0; off < XA_CHUNK_SIZE; off++) {
            if (slot(node, off) != 0) {
                setSlot(node, off, 0);
                nrEntries--;
                nrExceptional--;
            }
        }
        setHeader(node, 0, offset(node), 0);
        addExceptional(node, -exceptional(node));
        deleteEmptyNodes(node);
        shrink();
        long dead = xaFree;
        xaFree = 0;
        return dead;
    }

    /** Frees nodes {@link #reclaimShadowNodeLocked} retired; no lock held. */
    void freeNodes(long dead) {
        freeList(dead);
    }

    /** xas_delete_node(): unlinks {@code node} and its ancestors while they are empty. */
    private void deleteEmptyNodes(long node) {
        while (count(node) == 0) {
            long parent = parent(node);
            int off = offset(node);
            retire(node);
            if (parent == 0) {
                head = 0;
                headIsNode = false;
                return;
            }
            setSlot(parent, off, 0);
            addCount(parent, -1);
            node = parent;
        }
    }

    /** xas_shrink(): drops roots whose only entry is in slot 0; index 0 alone goes back to the head. */
    private void shrink() {
        while (headIsNode) {
            long root = head;
            long entry = slot(root, 0);
            if (count(root) != 1 || entry == 0) {
                return;
            }
            if (shift(root) == 0) {
                headIsNode = false;
            } else {
                setParent(entry, 0);
                setHeader(entry, shift(entry), 0, count(entry));
            }
            head = entry;
            retire(root);
        }
    }

    private void retire(long node) {
        if (shadowNodes != null && tracked(node)) {
            shadowNodes.untrack(node);
        }
        setParent(node, xaFree);
        xaFree = node;
        nrNodes--;
    }

    // ---------------------------------------------------------------- xa_find

    /** xa_find(): the first index at or after {@code from} that holds an entry, or -1. */
    public long xaFind(long from) {
        checkIndex(from, "xaFind");
        xaLock.lock();
        try {
            checkAlive("xaFind");
            if (!headIsNode) {
                return head != 0 && from == 0 ? 0 : -1;
            }
            long node = head;
            int shift = shift(node);
            if (from > maxIndex(shift)) {
                return -1;
            }
            long index = from;
            for (;;) {
                int off = (int) (index >>> shift) & XA_CHUNK_MASK;
                int found = off;
                while (found < XA_CHUNK_SIZE && slot(node, found) == 0) {
                    found++;
                }
                if (found == XA_CHUNK_SIZE) {
                    // Nothing left under this node: climb to the first ancestor with a later slot.
                    int next;
                    do {
                        if (node == head) {
                            return -1;
                        }
                        next = offset(node) + 1;
                        node = parent(node);
                        shift += XA_CHUNK_SHIFT;
                    } while (next == XA_CHUNK_SIZE);
                    index = withOffset(index, shift, next);
                    continue;
                }
                if (found != off) {
                    index = withOffset(index, shift, found);
                }
                if (shift == 0) {
                    return index;
                }
                node = slot(node, found);
                shift -= XA_CHUNK_SHIFT;
            }
        } finally {
            xaLock.unlock();
        }
    }

    /** The first index of slot {@code off} in the node of {@code shift} that covers {@code index}. */
    private static long withOffset(long index, int shift, int off) {
        long span = (64L << shift) - 1;
        return (index & ~span) | ((long) off << shift);
    }

    /** xa_find_after(): the first index above {@code index} holding an entry, or -1 (none after the last index). */
    public long xaFindAfter(long index) {
        return index == Long.MAX_VALUE ? -1 : xaFind(index + 1);
    }

    // ---------------------------------------------------------------- xa_destroy

    /** xa_destroy(): frees every node, as inode eviction does; the array cannot be used afterwards. */
    public void xaDestroy() {
        long dead;
        xaLock.lock();
        try {
            checkAlive("xaDestroy");
            destroyed = true;
            if (headIsNode) {
                // Post-order walk that clears each slot it follows, so it never revisits a child.
                long node = head;
                for (;;) {
                    int off = 0;
                    if (shift(node) > 0) {
                        while (off < XA_CHUNK_SIZE && slot(node, off) == 0) {
                            off++;
                        }
                    } else {
                        off = XA_CHUNK_SIZE;
                    }
                    if (off < XA_CHUNK_SIZE) {
                        long child = slot(node, off);
                        setSlot(node, off, 0);
                        node = child;
                        continue;
                    }
                    long parent = parent(node);
                    retire(node);
                    if (parent == 0) {
                        break;
                    }
                    node = parent;
                }
            }
            head = 0;
            headIsNode = false;
            nrEntries = 0;
            nrExceptional = 0;
            dead = xaFree;
            xaFree = 0;
        } finally {
            xaLock.unlock();
        }
        freeList(dead);
    }

    /** Frees a list of nodes linked through their parent word; no lock held. */
    private void freeList(long node) {
        while (node != 0) {
            long next = parent(node);
            mm.kmemCacheFree(cache, node);
            node = next;
        }
    }

    // ---------------------------------------------------------------- counters

    /** Entries stored (the page cache's nrpages). */
    public long nrEntries() {
        xaLock.lock();
        try {
            return nrEntries;
        } finally {
            xaLock.unlock();
        }
    }

    /** Exceptional entries stored (the page cache's nrshadows). */
    public long nrExceptional() {
        xaLock.lock();
        try {
            return nrExceptional;
        } finally {
            xaLock.unlock();
        }
    }

    /** Nodes in the tree, each one object of radix_tree_node. */
    public long nodes() {
        xaLock.lock();
        try {
            return nrNodes;
        } finally {
            xaLock.unlock();
        }
    }

    /** The root's shift, or -1 while the tree has no node: the tree's height in bits. */
    public int rootShift() {
        xaLock.lock();
        try {
            if (mem.released()) {
                mem.checkAlive(who("rootShift"));
            }
            return headIsNode ? shift(head) : -1;
        } finally {
            xaLock.unlock();
        }
    }

    // ---------------------------------------------------------------- checks

    private void checkIndex(long index, String op) {
        if (index < 0) {
            throw new IllegalArgumentException(who(op) + ": index " + index + " is negative");
        }
    }

    private void checkAlive(String op) {
        if (mem.released()) {
            // The message is built only on this path: xa_load() runs on every page-cache lookup.
            mem.checkAlive(who(op));
        }
        if (destroyed) {
            throw new IllegalStateException(who(op) + ": the array was destroyed by xaDestroy");
        }
    }

    private String who(String op) {
        return "xarray " + name + ": " + op;
    }

    @Override
    public String toString() {
        return "xarray " + name;
    }
}
