package dev.reclaimlab.mm;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * mm/shrinker.c: the registered shrinkers and shrink_slab(). The list is read without a lock, as the
 * kernel walks it under RCU since 6.x; work a shrinker could not do is deferred to the next call
 * (nr_deferred), so a shrinker that was skipped for lack of __GFP_FS catches up later.
 */
public final class ShrinkerList {
    private final List<Shrinker> shrinkers = new CopyOnWriteArrayList<>();
    private final Map<Shrinker, AtomicLong> nrDeferred = new ConcurrentHashMap<>();

    public void registerShrinker(Shrinker s) {
        if (nrDeferred.putIfAbsent(s, new AtomicLong()) != null) {
            throw new IllegalStateException("register_shrinker(" + s.name() + "): already registered");
        }
        shrinkers.add(s);
    }

    public void unregisterShrinker(Shrinker s) {
        if (nrDeferred.remove(s) == null) {
            throw new IllegalStateException("unregister_shrinker(" + s.name() + "): not registered");
        }
        shrinkers.remove(s);
    }

    public List<Shrinker> shrinkers() {
        return List.copyOf(shrinkers);
    }

    /**
     * shrink_slab(): asks every shrinker to scan a share of its freeable objects that grows as
     * {@code priority} falls from DEF_PRIORITY (12) to 0. Returns the objects freed; counts
     * {@code slabs_scanned} on {@code vmstat} when given.
     */
    public long shrinkSlab(int gfp, int priority, SlabsScannedCounter counter) {
        if (priority < 0 || priority > 12) {
            throw new IllegalArgumentException("shrink_slab: priority " + priority + " is outside [0, 12]");
        }
        return shrinkAll(gfp, priority, 0, 0, counter);
    }

    /**
     * shrink_slab() as Linux 3.x-4.x had it (4.3 checked): each shrinker scans a share of its freeable
     * objects proportional to the share of LRU pages reclaim just scanned, {@code 4 * nrScanned / seeks *
     * freeable / (nrEligible + 1)}, plus what earlier calls deferred, with the anti-windup clamp of
     * {@link #doShrinkSlab}. A pass that scanned no pages counts as SWAP_CLUSTER_MAX of them.
     */
    public long shrinkSlabProportional(int gfp, long nrScanned, long nrEligible, SlabsScannedCounter counter) {
        if (nrScanned < 0 || nrEligible < 0) {
            throw new IllegalArgumentException("shrink_slab: negative pages scanned or eligible");
        }
        return shrinkAll(gfp, -1, nrScanned == 0 ? ScanControl.SWAP_CLUSTER_MAX : nrScanned, nrEligible, counter);
    }

    private long shrinkAll(int gfp, int priority, long nrScanned, long nrEligible, SlabsScannedCounter counter) {
        long freed = 0;
        // shrink_slab()'s one shrink_control for every shrinker of the call, not one per shrinker.
        ShrinkControl sc = new ShrinkControl(gfp);
        for (Shrinker s : shrinkers) {
            AtomicLong deferred = nrDeferred.get(s);
            if (deferred == null) {
                continue;
            }
            freed += doShrinkSlab(s, sc, priority, nrScanned, nrEligible, deferred, counter);
        }
        return freed;
    }

    /** Where shrink_slab() counts scanned objects (vmstat's slabs_scanned). */
    public interface SlabsScannedCounter {
        void slabsScanned(long n);
    }

    /** do_shrink_slab(); {@code priority} -1 means the proportional form of Linux 3.x-4.x. */
    static long doShrinkSlab(Shrinker s, int gfp, int priority, long nrScanned, long nrEligible, AtomicLong deferred,
                             SlabsScannedCounter counter) {
        return doShrinkSlab(s, new ShrinkControl(gfp), priority, nrScanned, nrEligible, deferred, counter);
    }

    private static long doShrinkSlab(Shrinker s, ShrinkControl sc, int priority, long nrScanned, long nrEligible,
                                     AtomicLong deferred, SlabsScannedCounter counter) {
        sc.nrToScan = 0;
        sc.nrScanned = 0;
        long freeable = s.countObjects(sc);
        if (freeable == 0 || freeable == Shrinker.SHRINK_EMPTY) {
            return 0;
        }
        return priority >= 0 ? doShrinkSlabByPriority(s, sc, freeable, priority, deferred, counter)
                : doShrinkSlabProportional(s, sc, freeable, nrScanned, nrEligible, deferred, counter);
    }

    /**
     * do_shrink_slab() as in Linux 4.3: the deferred work plus {@code 4 * nrScanned / seeks * freeable /
     * (nrEligible + 1)}. Anti-windup: when the new share is under a quarter of the cache, deferred work
     * may not push a pass past half of it (a shrinker that could not run under GFP_NOFS must not then
     * empty the cache at once); never past twice the cache. Batches until less than a batch and less than
     * the cache is left; a SHRINK_STOP leaves the rest deferred.
     */
    private static long doShrinkSlabProportional(Shrinker s, ShrinkControl sc, long freeable, long nrScanned,
                                                 long nrEligible, AtomicLong deferred, SlabsScannedCounter counter) {
        long batch = s.batch() > 0 ? s.batch() : Shrinker.SHRINK_BATCH;
        long nr = deferred.getAndSet(0);
        long totalScan = nr;
        long delta = 4 * nrScanned / Math.max(1, s.seeks());
        delta *= freeable;
        delta /= nrEligible + 1;
        totalScan += delta;
        if (totalScan < 0) {
            totalScan = freeable;
        }
        if (delta < freeable / 4) {
            totalScan = Math.min(totalScan, freeable / 2);
        }
        if (totalScan > freeable * 2) {
            totalScan = freeable * 2;
        }
        long freed = 0;
        while (totalScan >= batch || totalScan >= freeable) {
            long nrToScan = Math.min(batch, totalScan);
            sc.nrToScan = nrToScan;
            sc.nrScanned = nrToScan;
            long ret = s.scanObjects(sc);
            if (ret == Shrinker.SHRINK_STOP) {
                break;
            }
            freed += ret;
            if (counter != null) {
                counter.slabsScanned(nrToScan);
            }
            totalScan -= nrToScan;
        }
        if (totalScan > 0) {
            deferred.addAndGet(totalScan);
        }
        return freed;
    }

    /** do_shrink_slab() by reclaim priority, as since 4.16: {@code (freeable >> priority) * 4 / seeks}. */
    private static long doShrinkSlabByPriority(Shrinker s, ShrinkControl sc, long freeable, int priority,
                                               AtomicLong deferred, SlabsScannedCounter counter) {
        long nr = deferred.getAndSet(0);
        long delta = s.seeks() > 0 ? (freeable >> priority) * 4 / s.seeks() : freeable / 2;
        long totalScan = Math.min((nr >> priority) + delta, 2 * freeable);
        long batch = s.batch() > 0 ? s.batch() : Shrinker.SHRINK_BATCH;
        long freed = 0;
        long scanned = 0;
        while (totalScan >= batch || totalScan >= freeable) {
            long toScan = Math.min(batch, totalScan);
            sc.nrToScan = toScan;
            sc.nrScanned = toScan;
            long ret = s.scanObjects(sc);
            if (ret == Shrinker.SHRINK_STOP) {
                break;
            }
            freed += ret;
            if (counter != null) {
                counter.slabsScanned(sc.nrScanned);
            }
            totalScan -= sc.nrScanned;
            scanned += sc.nrScanned;
            if (sc.nrScanned == 0) {
                break;
            }
        }
        // New work not done is owed to the next call, old deferred work done is paid off; at most 2 x freeable.
        long next = Math.min(Math.max(nr + delta - scanned, 0), 2 * freeable);
        if (next > 0) {
            deferred.addAndGet(next);
        }
        return freed;
    }
}
