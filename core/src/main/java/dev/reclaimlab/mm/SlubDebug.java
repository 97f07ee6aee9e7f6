package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import org.agrona.UnsafeApi;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * slub_debug=FZP (mm/slub.c's check_object(), check_bytes_and_report(), print_trailer()): red zones on
 * both sides of each object, poisoned free objects, and the kernel's BUG report naming the cache, the
 * object, the offending bytes and the caller. Double and invalid frees are reported for every cache.
 */
final class SlubDebug {
    static final int SLUB_RED_INACTIVE = 0xbb;
    static final int SLUB_RED_ACTIVE = 0xcc;
    static final int POISON_FREE = 0x6b;
    static final int POISON_END = 0xa5;

    private static final StackWalker WALKER = StackWalker.getInstance();
    private static final java.util.Set<String> ALLOCATOR = java.util.Set.of(Mm.class.getName(),
            Slub.class.getName(), SlubDebug.class.getName(), KmallocCaches.class.getName(), PageAlloc.class.getName());

    private final Kernel kernel;
    private final PhysMem mem;
    private final MemMap map;
    private final List<String> reports = new CopyOnWriteArrayList<>();

    SlubDebug(Kernel kernel, PhysMem mem, MemMap map) {
        this.kernel = kernel;
        this.mem = mem;
        this.map = map;
    }

    List<String> reports() {
        return Collections.unmodifiableList(reports);
    }

    /** The first frame outside the allocator: who called kfree()/kmem_cache_free(). */
    static String caller() {
        Optional<String> f = WALKER.walk(s -> s
                .filter(fr -> !ALLOCATOR.contains(fr.getClassName()))
                .findFirst()
                .map(fr -> fr.getClassName().substring(fr.getClassName().lastIndexOf('.') + 1) + "."
                        + fr.getMethodName() + "(" + fr.getFileName() + ":" + fr.getLineNumber() + ")"));
        return f.orElse("?");
    }

    // Slot geometry of a debug cache: [left red zone][object][right red zone].
    private static long slotOf(KmemCache s, long obj) {
        return obj - s.objOffset;
    }

    void initSlab(KmemCache s, int pfn) {
        long va = PhysMem.virtOfPfn(pfn);
        for (int i = 0, n = map.objects(pfn); i < n; i++) {
            long obj = va + (long) i * s.size + s.objOffset;
            fill(slotOf(s, obj), s.objOffset, SLUB_RED_INACTIVE);
            poison(s, obj);
            fill(obj + s.objectSize, rightRedzone(s), SLUB_RED_INACTIVE);
        }
    }

    private static int rightRedzone(KmemCache s) {
        return s.size - s.objOffset - s.objectSize;
    }

    private void poison(KmemCache s, long obj) {
        fill(obj, s.objectSize - 1L, POISON_FREE);
        UnsafeApi.putByte(mem.nativeOf(obj + s.objectSize - 1), (byte) POISON_END);
    }

    private void fill(long va, long len, int b) {
        if (len > 0) {
            UnsafeApi.setMemory(mem.nativeOf(va), len, (byte) b);
        }
    }

    /** alloc_debug_processing(): a free object must be intact; it leaves with active red zones. */
    void allocDebug(KmemCache s, long obj) {
        String bad = checkFreeObject(s, obj);
        if (bad != null) {
            // As the kernel does: report, restore, and hand the object out.
            restoreFree(s, obj);
        }
        fill(slotOf(s, obj), s.objOffset, SLUB_RED_ACTIVE);
        fill(obj + s.objectSize, rightRedzone(s), SLUB_RED_ACTIVE);
    }

    private void restoreFree(KmemCache s, long obj) {
        fill(slotOf(s, obj), s.objOffset, SLUB_RED_INACTIVE);
        poison(s, obj);
        fill(obj + s.objectSize, rightRedzone(s), SLUB_RED_INACTIVE);
    }

    /** Checks a free object's red zones and poison; reports and returns the first problem, or null. */
    private String checkFreeObject(KmemCache s, long obj) {
        String r = checkBytes(s, obj, slotOf(s, obj), s.objOffset, SLUB_RED_INACTIVE, "Left Redzone overwritten");
        if (r == null) {
            r = checkBytes(s, obj, obj, s.objectSize - 1L, POISON_FREE, "Poison overwritten");
        }
        if (r == null) {
            r = checkBytes(s, obj, obj + s.objectSize - 1, 1, POISON_END, "Poison overwritten");
        }
        if (r == null) {
            r = checkBytes(s, obj, obj + s.objectSize, rightRedzone(s), SLUB_RED_INACTIVE, "Right Redzone overwritten");
        }
        return r;
    }

    /** free_debug_processing(): an allocated object's red zones must be intact; then it is poisoned. */
    void freeDebug(KmemCache s, int slab, long obj) {
        String bug = "Left Redzone overwritten";
        String r = checkBytes(s, obj, slotOf(s, obj), s.objOffset, SLUB_RED_ACTIVE, bug);
        if (r == null) {
            bug = "Right Redzone overwritten";
            r = checkBytes(s, obj, obj + s.objectSize, rightRedzone(s), SLUB_RED_ACTIVE, bug);
        }
        if (r != null) {
            throw new SlabError(bug, r + String.format("FIX %s: Object at 0x%x not freed%n", s, obj));
        }
        restoreFree(s, obj);
    }

    /** check_bytes_and_report(): null when all {@code len} bytes are {@code value}, else the report. */
    private String checkBytes(KmemCache s, long obj, long start, long len, int value, String what) {
        long nat = mem.nativeOf(start);
        long first = -1;
        long last = -1;
        for (long i = 0; i < len; i++) {
            if ((UnsafeApi.getByte(nat + i) & 0xff) != value) {
                if (first < 0) {
                    first = i;
                }
                last = i;
            }
        }
        if (first < 0) {
            return null;
        }
        int found = UnsafeApi.getByte(nat + first) & 0xff;
        String head = String.format("%s%nINFO: 0x%x-0x%x @offset=%d. First byte 0x%x instead of 0x%x%n", what,
                start + first, start + last, start + first - PhysMem.virtOfPfn(headPfn(obj)), found, value);
        return report(s, obj, head);
    }

    private int headPfn(long obj) {
        return map.compoundHead((int) ((obj - PhysMem.PAGE_OFFSET) >>> PhysMem.PAGE_SHIFT));
    }

    /** A free of an object whose metadata is not "allocated": a double free, or corrupted metadata. */
    SlabError badFree(KmemCache s, int slab, int idx, long obj, int meta) {
        String bug = (meta & 3) == KmemCache.META_FREE_TAG ? "Object already free" : "Object metadata corrupted";
        String r = report(s, obj, String.format("%s%nINFO: object %d of the slab at pfn %d, metadata 0x%08x%n", bug, idx,
                slab, meta));
        return new SlabError(bug, r);
    }

    SlabError freelistCorrupted(KmemCache s, int slab, int idx, int meta) {
        // The dump shows a real object of the slab even when the bad link points outside it.
        int shown = idx >= 0 && idx < map.objects(slab) ? idx : 0;
        long obj = PhysMem.virtOfPfn(slab) + (long) shown * s.size + s.objOffset;
        String bug = "Freelist corrupted";
        return new SlabError(bug, report(s, obj, String.format("%s%nINFO: free object %d of the slab at pfn %d has"
                + " metadata 0x%08x%n", bug, idx, slab, meta)));
    }

    /** validate_slab(): every free object of {@code slab} must be intact. slab_lock held. */
    List<String> validateSlab(KmemCache s, int slab) {
        List<String> found = new ArrayList<>();
        long va = PhysMem.virtOfPfn(slab);
        long nat = mem.nativeOfPfn(slab);
        int free = 0;
        int objects = map.objects(slab);
        for (long i = map.freelist(slab); i >= 0 && free <= objects; free++) {
            if (i >= objects) {
                found.add(freelistCorrupted(s, slab, (int) i, -1).getMessage());
                break;
            }
            int m = UnsafeApi.getInt(nat + s.metaOffsetOf(objects) + i * KmemCache.META_SIZE);
            if ((m & 3) != KmemCache.META_FREE_TAG) {
                found.add(freelistCorrupted(s, slab, (int) i, m).getMessage());
                break;
            }
            if (s.debug) {
                long obj = va + i * s.size + s.objOffset;
                String r = checkFreeObject(s, obj);
                if (r != null) {
                    found.add(r);
                    restoreFree(s, obj);
                }
            }
            i = (m >> 2) - 1;
        }
        if (free != objects - map.inuse(slab)) {
            found.add(report(s, va + s.objOffset, String.format("Wrong object count%nINFO: slab at pfn %d has %d free"
                    + " objects on its freelist but inuse=%d of %d%n", slab, free, map.inuse(slab), objects)));
        }
        return found;
    }

    /** slab_bug() + print_trailer(): the BUG banner, the slab, a dump around the object, the caller. */
    private String report(KmemCache s, long obj, String what) {
        StringBuilder sb = new StringBuilder();
        String bar = "=============================================================================";
        String dash = "-----------------------------------------------------------------------------";
        int nl = what.indexOf('\n');
        sb.append(bar).append('\n').append("BUG ").append(s).append(" (Not tainted): ")
                .append(nl < 0 ? what : what.substring(0, nl)).append('\n').append(dash).append("\n\n");
        if (nl >= 0) {
            sb.append(what.substring(nl + 1));
        }
        int slab = headPfn(obj);
        sb.append(String.format("INFO: Slab pfn %d objects=%d used=%d flags=%s%n", slab, map.objects(slab),
                map.inuse(slab), PageFlags.format(map.flags(slab))));
        sb.append(String.format("INFO: Object 0x%x @offset=%d%n", obj, obj - PhysMem.virtOfPfn(slab)));
        sb.append(String.format("INFO: caller %s, task %s%n%n", caller(), kernel.currentTask()));
        if (s.objOffset > 0) {
            dump(sb, "Redzone  ", obj - s.objOffset, s.objOffset);
        }
        dump(sb, "Object   ", obj, Math.min(s.objectSize, 128));
        if (s.debug) {
            dump(sb, "Redzone  ", obj + s.objectSize, rightRedzone(s));
        }
        String r = sb.toString();
        reports.add(r);
        kernel.printk(r);
        return r;
    }

    /** print_section(): 16 bytes a line, hex then ASCII. */
    private void dump(StringBuilder sb, String label, long va, long len) {
        long nat = mem.nativeOf(va);
        for (long off = 0; off < len; off += 16) {
            sb.append(label).append(String.format("%016x: ", va + off));
            StringBuilder ascii = new StringBuilder();
            for (long i = off; i < off + 16; i++) {
                if (i < len) {
                    int b = UnsafeApi.getByte(nat + i) & 0xff;
                    sb.append(String.format("%02x ", b));
                    ascii.append(b >= 0x20 && b < 0x7f ? (char) b : '.');
                } else {
                    sb.append("   ");
                }
            }
            sb.append(' ').append(ascii).append('\n');
        }
    }
}
