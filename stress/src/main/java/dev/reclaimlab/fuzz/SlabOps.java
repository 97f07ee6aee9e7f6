package dev.reclaimlab.fuzz;

import dev.reclaimlab.fuzz.Harness.Res;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.KmallocCaches;
import dev.reclaimlab.mm.KmemCache;
import dev.reclaimlab.mm.SlabFlags;

/** The mm fuzz's operations on kmalloc, kfree and ksize, and the fuzz's own kmem caches: sizes, gfps, alignments, flags, wild, interior, freed and wrong-cache pointers, destroyed, boot and foreign caches. */
final class SlabOps extends MmContext {
    private int cacheSeq;

    SlabOps(MmContext c) {
        super(c);
    }

    void kmalloc() {
        boolean valid = valid() && objs.size() < MAX_OBJS;
        long size;
        int gfp;
        if (valid) {
            int c = r.nextInt(100);
            size = c < 3 ? 0 : c < 85 ? 1 + r.nextInt(256) : c < 97 ? 1 + r.nextInt(8192) : 8193 + r.nextInt(16384);
            if (c >= 3 && r.nextInt(4) == 0) {
                size = Long.highestOneBit(size);
            }
            gfp = gfp(true);
        } else if (r.nextBoolean()) {
            long[] bad = {-1, Long.MIN_VALUE, KmallocCaches.KMALLOC_MAX_SIZE + 1, Long.MAX_VALUE, -4096};
            size = bad[r.nextInt(bad.length)];
            gfp = Gfp.GFP_KERNEL;
        } else {
            size = 64;
            gfp = gfp(false);
        }
        boolean zero = r.nextInt(4) == 0;
        allocated();
        long s = size;
        int g = gfp;
        h.call(k, zero ? "kzalloc" : "kmalloc", valid, s + ", " + Gfp.formatMode(g), () -> {
            long a = zero ? mm.kzalloc(s, g) : mm.kmalloc(s, g);
            if (a == 0) {
                return Res.ERROR;
            }
            if (s == 0) {
                if (a != KmallocCaches.ZERO_SIZE_PTR) {
                    throw new Harness.Corrupt("kmalloc(0) is not ZERO_SIZE_PTR");
                }
                mm.kfree(a);
                return Res.SUCCESS;
            }
            objs.add(new Obj(a, s, null));
            if (Long.bitCount(s) == 1 && s <= KmallocCaches.KMALLOC_MAX_CACHE_SIZE && (a & (s - 1)) != 0) {
                throw new Harness.Corrupt(String.format("kmalloc(%d) at 0x%x is not naturally aligned", s, a));
            }
            if ((zero || (g & Gfp.__GFP_ZERO) != 0) && mem.getByte(a + s - 1) != 0) {
                throw new Harness.Corrupt(String.format("kzalloc(%d) at 0x%x is not zeroed", s, a));
            }
            mem.putByte(a + s - 1, (byte) 0x5a);
            return Res.SUCCESS;
        });
    }

    void kfree() {
        Obj o = valid() ? pickKmalloced() : null;
        if (o != null) {
            h.call(k, "kfree", true, o.toString(), () -> {
                mm.kfree(o.addr);
                objs.remove(o);
                recentObjs.add(o);
                return Res.SUCCESS;
            });
            return;
        }
        Long a = badObjAddr();
        if (a == null) {
            return;
        }
        h.call(k, "kfree", false, String.format("0x%x", a), () -> {
            mm.kfree(a);
            return Res.SUCCESS;
        });
    }

    void ksize() {
        Obj o = valid() ? pickKmalloced() : null;
        if (o != null) {
            h.call(k, "ksize", true, o.toString(), () -> {
                long s = mm.kmallocCaches().ksize(o.addr);
                if (s < o.size) {
                    throw new Harness.Corrupt("ksize " + s + " < the " + o.size + " bytes asked");
                }
                return Res.SUCCESS;
            });
            return;
        }
        Long a = badObjAddr();
        if (a == null) {
            return;
        }
        h.call(k, "ksize", false, String.format("0x%x", a), () -> {
            mm.kmallocCaches().ksize(a);
            return Res.SUCCESS;
        });
    }

    void cacheCreateDestroy() {
        if (r.nextBoolean()) {
            boolean valid = valid() && caches.size() < MAX_CACHES;
            String name = "fuzz_cache" + cacheSeq++;
            int size = 1 + r.nextInt(r.nextBoolean() ? 512 : 8192);
            int[] aligns = {0, 8, 16, 64, 4096};
            int align = aligns[r.nextInt(aligns.length)];
            int[] flagSets = {0, SlabFlags.SLAB_HWCACHE_ALIGN, SlabFlags.SLAB_RECLAIM_ACCOUNT, SlabFlags.SLAB_FAILSLAB,
                SlabFlags.SLAB_DEBUG_FLAGS};
            int flags = flagSets[r.nextInt(flagSets.length)];
            if (!valid) {
                switch (r.nextInt(6)) {
                    case 0:
                        name = r.nextBoolean() ? null : " ";
                        break;
                    case 1:
                        size = r.nextBoolean() ? 0 : -r.nextInt(1 << 20);
                        break;
                    case 2:
                        size = KmallocCaches.KMALLOC_MAX_CACHE_SIZE * 2 + 1 + r.nextInt(1 << 20);
                        break;
                    case 3:
                        align = new int[] {3, -8, 12, 16384, 1 << 30}[r.nextInt(5)];
                        break;
                    case 4:
                        flags = 1 << 30;
                        break;
                    default:
                        flags = 0x1;
                }
            }
            String n = name;
            int s = size;
            int a = align;
            int f = flags;
            h.call(k, "kmemCacheCreate", valid, n + ", " + s + ", " + a + ", 0x" + Integer.toHexString(f), () -> {
                KmemCache c = mm.kmemCacheCreate(n, s, a, f);
                caches.add(c);
                liveInCache.put(c, 0);
                return Res.SUCCESS;
            });
            return;
        }
        KmemCache c = caches.isEmpty() ? null : pick(caches);
        if (c != null && liveInCache.get(c) == 0 && valid()) {
            h.call(k, "kmemCacheDestroy", true, c.name(), () -> {
                mm.slub().kmemCacheDestroy(c);
                caches.remove(c);
                liveInCache.remove(c);
                deadCaches.add(c);
                return Res.SUCCESS;
            });
            return;
        }
        KmemCache bad;
        String kind;
        int x = r.nextInt(5);
        if (x == 0 && c != null && liveInCache.get(c) > 0) {
            bad = c;
            kind = "live objects";
        } else if (x == 1 && !deadCaches.isEmpty()) {
            bad = pick(deadCaches);
            kind = "destroyed";
        } else if (x == 2) {
            bad = foreignCache;
            kind = "another kernel's";
        } else if (x == 3) {
            bad = mm.kmallocCaches().kmallocSlab(1 + r.nextInt(KmallocCaches.KMALLOC_MAX_CACHE_SIZE));
            kind = "a kmalloc cache";
        } else {
            bad = null;
            kind = "null";
        }
        h.call(k, "kmemCacheDestroy", false, bad + " (" + kind + ")", () -> {
            mm.slub().kmemCacheDestroy(bad);
            return Res.SUCCESS;
        });
    }

    void cacheAllocFree() {
        KmemCache c = caches.isEmpty() ? null : pick(caches);
        if (r.nextBoolean()) {
            boolean valid = c != null && valid() && objs.size() < MAX_OBJS;
            KmemCache use;
            int gfp = gfp(true);
            if (valid) {
                use = c;
            } else {
                int x = r.nextInt(4);
                use = x == 0 ? null : x == 1 && !deadCaches.isEmpty() ? pick(deadCaches) : x == 2 ? foreignCache : c;
                if (use == c) {
                    gfp = gfp(false);
                }
                if (use == null && x != 0) {
                    return;
                }
            }
            allocated();
            KmemCache u = use;
            int g = gfp;
            h.call(k, "kmemCacheAlloc", valid, u + ", " + Gfp.formatMode(g), () -> {
                long a = mm.kmemCacheAlloc(u, g);
                if (a == 0) {
                    return Res.ERROR;
                }
                objs.add(new Obj(a, u.objectSize(), u));
                liveInCache.merge(u, 1, Integer::sum);
                if ((g & Gfp.__GFP_ZERO) != 0 && mem.getByte(a + u.objectSize() - 1) != 0) {
                    throw new Harness.Corrupt("__GFP_ZERO object not zeroed");
                }
                mem.putByte(a, (byte) 0x33);
                return Res.SUCCESS;
            });
            return;
        }
        Obj o = pickCacheObj();
        if (o != null && valid()) {
            h.call(k, "kmemCacheFree", true, o.cache + ", " + o, () -> {
                mm.kmemCacheFree(o.cache, o.addr);
                objs.remove(o);
                liveInCache.merge(o.cache, -1, Integer::sum);
                recentObjs.add(o);
                return Res.SUCCESS;
            });
            return;
        }
        KmemCache use;
        long addr;
        String kind;
        int x = r.nextInt(6);
        Obj km = pickKmalloced();
        if (x == 0 && o != null && caches.size() > 1) {
            use = caches.get((caches.indexOf(o.cache) + 1) % caches.size());
            addr = o.addr;
            kind = "wrong cache";
        } else if (x == 1 && km != null && c != null) {
            use = c;
            addr = km.addr;
            kind = "a kmalloc object";
        } else if (x == 2 && o != null) {
            use = o.cache;
            addr = o.addr + 1 + r.nextInt(3);
            kind = "not an object's start";
        } else if (x == 3 && o != null) {
            use = r.nextBoolean() ? null : foreignCache;
            addr = o.addr;
            kind = use == null ? "null cache" : "another kernel's cache";
        } else if (x == 4 && !recentObjs.isEmpty() && pick(recentObjs).cache != null) {
            Obj f = recentObjs.get(recentObjs.size() - 1);
            if (f.cache == null || !caches.contains(f.cache)) {
                return;
            }
            use = f.cache;
            addr = f.addr;
            kind = "double free";
        } else if (c != null) {
            use = c;
            addr = badObjAddrOutside();
            kind = "outside kernel memory";
        } else {
            return;
        }
        KmemCache u = use;
        long a = addr;
        h.call(k, "kmemCacheFree", false, u + String.format(", 0x%x (%s)", a, kind), () -> {
            mm.kmemCacheFree(u, a);
            return Res.SUCCESS;
        });
    }
}
