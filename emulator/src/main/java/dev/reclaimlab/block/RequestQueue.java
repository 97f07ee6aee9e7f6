package dev.reclaimlab.block;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.LockClassKey;
import dev.reclaimlab.locking.SpinLock;
import dev.reclaimlab.locking.WaitQueue;
import dev.reclaimlab.mm.BackingDev;
import dev.reclaimlab.mm.BackingDevInfo;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

/**
 * struct request_queue of a request-based disk with its root request_list, as in Linux 3.14
 * (block/blk-core.c blk_queue_bio(), get_request(), __get_request(), freed_request(), __freed_request(),
 * blk_queue_congestion_threshold(), blk_update_nr_requests(); block/blk.h
 * queue_congestion_{on,off}_threshold(); block/elevator.c elv_merge()'s back merge through the request
 * hash; block/blk-merge.c ll_back_merge_fn()). The same logic runs, renamed blk_set_congested(), through
 * 4.3 for a queue that is not blk-mq.
 *
 * <p>A bio that starts where a queued, not yet dispatched, request of the same direction ends joins it while
 * the request stays within max_sectors and max_segments. Otherwise the submitter takes a request: at most
 * nr_requests (128) per direction, sync (reads, REQ_SYNC writes) and async (writeback) apart. Taking the
 * request that brings the count to nr_congestion_on (nr_requests - nr_requests/8 + 1 = 113) marks the queue's
 * bdi congested for that direction (set_bdi_congested()); freeing one that leaves fewer than
 * nr_congestion_off (nr_requests - nr_requests/8 - nr_requests/16 - 1 = 103) clears it
 * (clear_bdi_congested(), which wakes every congestion_wait() sleeper), and any free below nr_requests
 * wakes the submitters asleep in get_request() (io_schedule(), TASK_UNINTERRUPTIBLE) for want of one.
 * Requests count from get_request() until the driver ends them.
 *
 * <p>Not modelled: the plug (a task's plugged requests are merged and inserted at unplug; here each bio
 * reaches the queue at once, where the elevator's back merge joins the same runs), front merges, io_context
 * batching (a woken sleeper may take up to nr_batching requests over a full list, to 3/2 nr_requests; here
 * nobody exceeds nr_requests), starved lists, and blkcg's request lists. A wake-up wakes every sleeper of
 * the direction, each retrying, where 3.14 wakes one exclusive waiter.
 */
public final class RequestQueue {
    /** BLKDEV_MAX_RQ: the default nr_requests of each direction. */
    public static final int BLKDEV_MAX_RQ = 128;
    /** BLKDEV_MIN_RQ: the least nr_requests queue_requests_store() accepts. */
    public static final int BLKDEV_MIN_RQ = 4;
    /** BLK_DEF_MAX_SECTORS (3.14): 1024 sectors, 512 KiB, the default max_sectors of a request. */
    public static final int BLK_DEF_MAX_SECTORS = 1024;
    /** BLK_MAX_SEGMENTS: 128 segments per request. */
    public static final int BLK_MAX_SEGMENTS = 128;

    private static final LockClassKey QUEUE_LOCK_KEY = new LockClassKey("&(&q->__queue_lock)->rlock");

    /** struct request: the bios of one run of sectors, in the order they joined. */
    public static final class Request {
        private final Bio.Op op;
        private final boolean sync;
        private final long sector;
        private long nrSectors;
        private int nrPhysSegments;
        private final List<Bio> bios = new ArrayList<>(4);

        private Request(Bio first) {
            this.op = first.op();
            this.sync = first.rwIsSync();
            this.sector = first.sector();
            add(first);
        }

        private void add(Bio bio) {
            bios.add(bio);
            nrSectors += bio.size() >> Bio.SECTOR_SHIFT;
            nrPhysSegments += bio.vcnt();
        }

        /** blk_rq_pos(). */
        public long sector() {
            return sector;
        }

        /** blk_rq_sectors(). */
        public long nrSectors() {
            return nrSectors;
        }

        /** blk_rq_bytes(). */
        public long bytes() {
            return nrSectors << Bio.SECTOR_SHIFT;
        }

        public boolean sync() {
            return sync;
        }

        /** The bios in sector order. */
        public List<Bio> bios() {
            return bios;
        }

        private long end() {
            return sector + nrSectors;
        }

        @Override
        public String toString() {
            return "request " + op + (sync ? " sync" : "") + " sector " + sector + " +" + nrSectors;
        }
    }

    private final String name;
    private final BackingDevInfo bdi;
    private final BackingDev backingDev;
    private final Runnable requestFn;
    private final SpinLock queueLock;
    /** rl->count[BLK_RW_ASYNC], rl->count[BLK_RW_SYNC]: written under queueLock, read by sleepers. */
    private final AtomicIntegerArray count = new AtomicIntegerArray(2);
    /** rl->wait[]: submitters asleep in get_request(). */
    private final WaitQueue[] rlWait;
    private final ArrayDeque<Request> queueHead = new ArrayDeque<>();
    /** The elevator's request hash: queued requests by the sector they end at (elv_rqhash_find()). */
    private final HashMap<Long, Request> rqHash = new HashMap<>();
    private volatile int nrRequests;
    private volatile int nrCongestionOn;
    private volatile int nrCongestionOff;
    private volatile int maxSectors = BLK_DEF_MAX_SECTORS;
    private volatile boolean dying;
    /** queueHead's length, for the driver's wait condition (read without queueLock). */
    private volatile int nrQueued;
    private final AtomicLong allocated = new AtomicLong();
    /** The most requests of one direction ever taken at once (async, sync): a high-water mark for reports. */
    private final AtomicIntegerArray peak = new AtomicIntegerArray(2);
    private final AtomicLong merges = new AtomicLong();
    private final AtomicLong sleeps = new AtomicLong();
    private final AtomicLong[] congestedSets = {new AtomicLong(), new AtomicLong()};
    private final AtomicLong[] congestedClears = {new AtomicLong(), new AtomicLong()};

    /**
     * blk_init_queue(): a queue for the disk {@code name} whose bdi (q->backing_dev_info) is {@code bdi};
     * {@code requestFn} is told whenever a request is queued (the driver's request_fn, run by
     * __blk_run_queue()).
     */
    public RequestQueue(Kernel kernel, String name, BackingDevInfo bdi, Runnable requestFn) {
        if (kernel == null || name == null || bdi == null || requestFn == null) {
            throw new IllegalArgumentException("blk_init_queue(" + name + "): kernel, name, bdi and request_fn are required");
        }
        this.name = name;
        this.bdi = bdi;
        this.backingDev = kernel.mm().backingDev();
        this.requestFn = requestFn;
        this.queueLock = new SpinLock(name + " queue_lock", QUEUE_LOCK_KEY);
        this.rlWait = new WaitQueue[] {new WaitQueue(name + " rl->wait[BLK_RW_ASYNC]"),
            new WaitQueue(name + " rl->wait[BLK_RW_SYNC]")};
        setNrRequests(BLKDEV_MAX_RQ);
    }

    /** The driver's task, which ends every request and so wakes every get_request() sleeper. */
    public void expectDriver(Task t) {
        rlWait[BackingDev.BLK_RW_ASYNC].expectWaker(t);
        rlWait[BackingDev.BLK_RW_SYNC].expectWaker(t);
    }

    public BackingDevInfo bdi() {
        return bdi;
    }

    /** blk_queue_congestion_threshold(). */
    private void blkQueueCongestionThreshold(int nr) {
        int on = nr - nr / 8 + 1;
        nrCongestionOn = Math.min(on, nr);
        int off = nr - nr / 8 - nr / 16 - 1;
        nrCongestionOff = Math.max(off, 1);
    }

    /**
     * A write of /sys/block/NAME/queue/nr_requests (queue_requests_store() -> blk_update_nr_requests()):
     * new thresholds, and the congestion and the sleepers brought in line with the counts now.
     */
    public void setNrRequests(int nr) {
        if (nr < BLKDEV_MIN_RQ) {
            throw new IllegalArgumentException(name + ": nr_requests " + nr + " is below BLKDEV_MIN_RQ (" + BLKDEV_MIN_RQ + ")");
        }
        queueLock.spinLock();
        try {
            nrRequests = nr;
            blkQueueCongestionThreshold(nr);
            for (int sync = 0; sync < 2; sync++) {
                int c = count.get(sync);
                if (c >= nrCongestionOn) {
                    setCongested(sync);
                } else if (c < nrCongestionOff) {
                    clearCongested(sync);
                }
                if (c < nr) {
                    rlWait[sync].wakeUp();
                }
            }
        } finally {
            queueLock.spinUnlock();
        }
    }

    /** A write of /sys/block/NAME/queue/max_sectors_kb: between a page and 512 KiB (max_hw_sectors_kb). */
    public void setMaxSectorsKb(int kb) {
        if (kb < 4 || kb > BLK_DEF_MAX_SECTORS / 2) {
            throw new IllegalArgumentException(name + ": max_sectors_kb " + kb + " outside [4, " + BLK_DEF_MAX_SECTORS / 2 + "]");
        }
        maxSectors = kb << 1;
    }

    public int nrRequests() {
        return nrRequests;
    }

    /** queue_congestion_on_threshold(). */
    public int congestionOnThreshold() {
        return nrCongestionOn;
    }

    /** queue_congestion_off_threshold(). */
    public int congestionOffThreshold() {
        return nrCongestionOff;
    }

    /** rl->count[sync]: requests of that direction taken and not yet freed. */
    public int count(int sync) {
        return count.get(sync);
    }

    private void setCongested(int sync) {
        if (!bdi.congested(sync)) {
            congestedSets[sync].incrementAndGet();
        }
        backingDev.setBdiCongested(bdi, sync);
    }

    private void clearCongested(int sync) {
        if (bdi.congested(sync)) {
            congestedClears[sync].incrementAndGet();
        }
        backingDev.clearBdiCongested(bdi, sync);
    }

    /**
     * blk_queue_bio(): joins {@code bio} to a queued request it extends, or takes a request for it (sleeping
     * in get_request() while none is free) and queues it for the driver. False once the queue is dying
     * (blk_cleanup_queue()): the caller then serves the bio itself.
     */
    public boolean blkQueueBio(Bio bio) {
        boolean sync = bio.rwIsSync();
        int dir = sync ? BackingDev.BLK_RW_SYNC : BackingDev.BLK_RW_ASYNC;
        boolean mergeable = bio.op() != Bio.Op.FLUSH;
        queueLock.spinLock();
        try {
            if (mergeable && elvAttemptBackMerge(bio, sync)) {
                return true;
            }
            if (!getRequest(dir)) {
                return false;
            }
            Request rq = new Request(bio);
            queueHead.addLast(rq);
            nrQueued = queueHead.size();
            if (mergeable) {
                rqHash.put(rq.end(), rq);
            }
        } finally {
            queueLock.spinUnlock();
        }
        requestFn.run();
        return true;
    }

    /** elv_merge() ELEVATOR_BACK_MERGE + bio_attempt_back_merge(), under queueLock. */
    private boolean elvAttemptBackMerge(Bio bio, boolean sync) {
        Request rq = rqHash.get(bio.sector());
        if (rq == null || rq.op != bio.op() || rq.sync != sync) {
            return false;
        }
        // ll_back_merge_fn(): the request may not outgrow max_sectors or max_segments.
        if (rq.nrSectors + (bio.size() >> Bio.SECTOR_SHIFT) > maxSectors
                || rq.nrPhysSegments + bio.vcnt() > BLK_MAX_SEGMENTS) {
            return false;
        }
        rqHash.remove(rq.end());
        rq.add(bio);
        rqHash.put(rq.end(), rq);
        merges.incrementAndGet();
        return true;
    }

    /**
     * get_request(): takes one request of direction {@code dir}, sleeping in D state on rl->wait[dir] while
     * __get_request() refuses, the queue lock dropped. Called and returns with queueLock held; false if the
     * queue died meanwhile.
     */
    private boolean getRequest(int dir) {
        while (!getRequestLocked(dir)) {
            if (dying) {
                return false;
            }
            sleeps.incrementAndGet();
            queueLock.spinUnlock();
            try {
                rlWait[dir].waitEvent(() -> count.get(dir) < nrRequests || dying);
            } finally {
                queueLock.spinLock();
            }
        }
        return true;
    }

    /** __get_request() without io_context batching: refuses only a full list. */
    private boolean getRequestLocked(int dir) {
        if (dying) {
            return false;
        }
        int c = count.get(dir);
        if (c + 1 >= nrCongestionOn) {
            if (c >= nrRequests) {
                return false;
            }
            setCongested(dir);
        }
        int now = count.incrementAndGet(dir);
        if (now > peak.get(dir)) {
            peak.set(dir, now);
        }
        allocated.incrementAndGet();
        return true;
    }

    /**
     * The driver's blk_fetch_request(): the oldest queued request, now dispatched (no bio joins it any
     * more); null when none is queued.
     */
    public Request blkFetchRequest() {
        queueLock.spinLock();
        try {
            Request rq = queueHead.pollFirst();
            nrQueued = queueHead.size();
            if (rq != null && rqHash.get(rq.end()) == rq) {
                rqHash.remove(rq.end());
            }
            return rq;
        } finally {
            queueLock.spinUnlock();
        }
    }

    /** Whether a request waits for the driver. */
    public boolean hasQueued() {
        return nrQueued > 0;
    }

    /**
     * blk_finish_request() -> blk_put_request() -> freed_request(): the driver ended {@code rq}'s bios; the
     * request goes back to the list, clearing congestion and waking sleepers as __freed_request() does.
     */
    public void blkFinishRequest(Request rq) {
        int dir = rq.sync ? BackingDev.BLK_RW_SYNC : BackingDev.BLK_RW_ASYNC;
        queueLock.spinLock();
        try {
            int c = count.decrementAndGet(dir);
            if (c < 0) {
                count.incrementAndGet(dir);
                throw new IllegalStateException(name + ": " + rq + " freed with no request of its direction taken");
            }
            if (c < nrCongestionOff) {
                clearCongested(dir);
            }
            if (c + 1 <= nrRequests && rlWait[dir].waitqueueActive()) {
                rlWait[dir].wakeUp();
            }
        } finally {
            queueLock.spinUnlock();
        }
    }

    /**
     * blk_cleanup_queue(): the driver is going away. Submitters asleep in get_request() wake and are refused
     * from now on; whatever is still queued is the caller's to end.
     */
    public void blkCleanupQueue() {
        dying = true;
        rlWait[BackingDev.BLK_RW_ASYNC].wakeUp();
        rlWait[BackingDev.BLK_RW_SYNC].wakeUp();
    }

    /** Requests taken since boot. */
    public long allocated() {
        return allocated.get();
    }

    /** The most requests of direction {@code sync} taken at once since boot. */
    public int peak(int sync) {
        return peak.get(sync);
    }

    /** Bios that joined a queued request instead of taking one. */
    public long merges() {
        return merges.get();
    }

    /** Sleeps in get_request() for want of a free request. */
    public long getRequestSleeps() {
        return sleeps.get();
    }

    /** How often the queue set its bdi congested for {@code sync} (a 0 to 1 change). */
    public long congestedSets(int sync) {
        return congestedSets[sync].get();
    }

    /** How often freed_request() cleared it (a 1 to 0 change). */
    public long congestedClears(int sync) {
        return congestedClears[sync].get();
    }

    /** For a progress line: counts, congestion changes, merges and sleeps. */
    @Override
    public String toString() {
        return String.format("%s queue: requests async %d (peak %d) sync %d (peak %d) of %d, max_sectors %d, write congested"
                        + " %b (set %d cleared %d), taken %d merged %d get_request sleeps %d", name, count.get(0),
                peak.get(0), count.get(1), peak.get(1), nrRequests, maxSectors, bdi.writeCongested(),
                congestedSets[0].get(), congestedClears[0].get(), allocated.get(), merges.get(), sleeps.get());
    }
}
