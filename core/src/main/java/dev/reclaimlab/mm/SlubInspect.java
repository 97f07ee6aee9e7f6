package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import org.agrona.UnsafeApi;

import java.util.ArrayList;
import java.util.List;

import static dev.reclaimlab.mm.KmemCache.META_ALLOCATED;
import static dev.reclaimlab.mm.KmemCache.META_FREE_TAG;
import static dev.reclaimlab.mm.KmemCache.META_SIZE;
import static dev.reclaimlab.mm.KmemCache.PC_FREELIST;
import static dev.reclaimlab.mm.KmemCache.PC_SLAB;
import static dev.reclaimlab.mm.KmemCache.PC_STRIDE;
import static dev.reclaimlab.mm.MemMap.NO_PFN;
import static dev.reclaimlab.mm.Slub.FREELIST_CORRUPT;
import static dev.reclaimlab.mm.Slub.OBJECT_ALLOCATED;
import static dev.reclaimlab.mm.Slub.OBJECT_LOST;
import static dev.reclaimlab.mm.Slub.OBJECT_ON_FREELIST;

/**
 * mm/slub.c's read-side checks as in Linux 4.3 (the same in 3.14 and 5.3), apart from the allocation and free
 * paths: validate_slab_cache(), on_freelist() for one object, and mm/slab_common.c's /proc/slabinfo. Each
 * takes the locks the paths it looks at take (list_lock, slab_lock(), the CPU a slab is frozen to), so it sees
 * a consistent slab and moves nothing.
 */
final class SlubInspect {
    private final Slub slub;
    private final Kernel kernel;
    private final PhysMem mem;
    private final MemMap map;

    SlubInspect(Slub slub, Kernel kernel, PhysMem mem, MemMap map) {
        this.slub = slub;
        this.kernel = kernel;
        this.mem = mem;
        this.map = map;
    }

    /**
     * validate_slab_cache(): flushes the CPU slabs, then checks every free object of every partial slab:
     * with poisoning, a write after free shows as overwritten poison. Returns the reports it made.
     */
    List<String> kmemCacheValidate(KmemCache s) {
        slub.checkCache(s, "kmem_cache_validate");
        slub.flushAll(s);
        List<String> found = new ArrayList<>();
        s.listLock.lock();
        try {
            for (int slab = s.partialHead; slab != NO_PFN; slab = map.lruNext(slab)) {
                map.bitSpinLock(slab, PageFlags.PG_locked);
                try {
                    found.addAll(slub.debugger().validateSlab(s, slab));
                } finally {
                    map.bitSpinUnlock(slab, PageFlags.PG_locked);
                }
            }
        } finally {
            s.listLock.unlock();
        }
        return found;
    }

    /**
     * on_freelist() for one object, read-only: {@link Slub#OBJECT_ON_FREELIST} when {@code addr} is free and its
     * slab's freelists reach it (the CPU freelist of the CPU the slab is frozen to, and the slab's own),
     * {@link Slub#OBJECT_ALLOCATED} when it is allocated, {@link Slub#OBJECT_LOST} when its metadata says free but no
     * freelist reaches it, {@link #FREELIST_CORRUPT} when a freelist reaches an allocated object or loops, or
     * the slab's own freelist does not hold objects - inuse. Looks while holding slab_lock and, for a frozen
     * slab, its CPU, so no alloc or free moves objects meanwhile. The caller keeps the slab alive by holding
     * another of its objects.
     */
    int onFreelist(KmemCache s, long addr) {
        Task t = kernel.currentTask();
        slub.checkCache(s, "onFreelist");
        int slab = slub.slabOf(addr, "onFreelist", s);
        if (slub.cacheOfSlab(slab) != s) {
            throw new IllegalArgumentException(String.format("onFreelist(%s, 0x%x): object is from %s", s, addr,
                    slub.cacheOfSlab(slab)));
        }
        int idx = s.objToIndex(addr - PhysMem.virtOfPfn(slab) - s.objOffset, map.objects(slab));
        if (idx < 0) {
            throw new IllegalArgumentException(String.format("onFreelist(%s, 0x%x): not the start of an object", s,
                    addr));
        }
        int[] found = {-1};
        // A frozen slab may be unfrozen and frozen to another CPU while we go round the CPUs: bounded retries.
        for (int tries = 0; tries < 64; tries++) {
            map.bitSpinLock(slab, PageFlags.PG_locked);
            try {
                if (!map.frozen(slab)) {
                    return checkFreelists(s, slab, idx, -1);
                }
            } finally {
                map.bitSpinUnlock(slab, PageFlags.PG_locked);
            }
            for (int c = 0; c < kernel.nrCpus() && found[0] < 0; c++) {
                int b = (c + 1) * PC_STRIDE;
                t.runOnCpu(c, () -> {
                    if (s.percpu[b + PC_SLAB] == slab) {
                        map.bitSpinLock(slab, PageFlags.PG_locked);
                        try {
                            found[0] = checkFreelists(s, slab, idx, s.percpu[b + PC_FREELIST]);
                        } finally {
                            map.bitSpinUnlock(slab, PageFlags.PG_locked);
                        }
                    }
                });
            }
            if (found[0] >= 0) {
                return found[0];
            }
        }
        return FREELIST_CORRUPT;
    }

    /** Walks {@code cpuFree} (-1 for none) and the slab's own freelist. slab_lock held, and the CPU if frozen. */
    private int checkFreelists(KmemCache s, int slab, int idx, long cpuFree) {
        int objects = map.objects(slab);
        long meta = mem.nativeOfPfn(slab) + s.metaOffsetOf(objects);
        boolean reached = false;
        int walked = 0;
        for (int list = 0; list < 2; list++) {
            int onList = 0;
            for (long i = list == 0 ? cpuFree : map.freelist(slab); i >= 0; onList++) {
                if (i >= objects) {
                    return FREELIST_CORRUPT;
                }
                int m = UnsafeApi.getInt(meta + i * META_SIZE);
                if ((m & 3) != META_FREE_TAG || ++walked > objects) {
                    return FREELIST_CORRUPT;
                }
                reached |= i == idx;
                i = (m >> 2) - 1;
            }
            if (list == 1 && onList != objects - map.inuse(slab)) {
                return FREELIST_CORRUPT;
            }
        }
        int m = UnsafeApi.getInt(meta + (long) idx * META_SIZE);
        if (reached) {
            return OBJECT_ON_FREELIST;
        }
        if (m == META_ALLOCATED) {
            return OBJECT_ALLOCATED;
        }
        return (m & 3) == META_FREE_TAG ? OBJECT_LOST : FREELIST_CORRUPT;
    }

    /** /proc/slabinfo. */
    String slabinfo() {
        StringBuilder sb = new StringBuilder("slabinfo - version: 2.1\n");
        sb.append("# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>"
                + " : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs>"
                + " <sharedavail>\n");
        for (KmemCache s : slub.caches()) {
            sb.append(s.slabinfoLine()).append('\n');
        }
        return sb.toString();
    }
}
