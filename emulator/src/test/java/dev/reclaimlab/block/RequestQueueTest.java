package dev.reclaimlab.block;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.locking.WaitRecord;
import dev.reclaimlab.mm.BackingDev;
import dev.reclaimlab.mm.BackingDevInfo;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.testkit.Await;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** 3.14's request allocation, queue congestion and back merging (RequestQueue), the test task as the driver. */
@Timeout(30)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m")
class RequestQueueTest {
    private static final Duration BLOCKED = Duration.ofSeconds(10);
    private static final int PAGE_SECTORS = PhysMem.PAGE_SIZE >> Bio.SECTOR_SHIFT;
    /** Far enough apart that no two test bios are adjacent. */
    private static final long APART = 4 * PAGE_SECTORS;

    private static Bio pageBio(Bio.Op op, long sector, int pfn) {
        Bio b = new Bio(op, sector, 1);
        b.addPage(pfn, PhysMem.PAGE_SIZE, 0);
        return b;
    }

    private static RequestQueue queue(Kernel k, BackingDevInfo bdi) {
        RequestQueue q = new RequestQueue(k, "sdt", bdi, () -> { });
        q.expectDriver(k.currentTask());
        return q;
    }

    /** Ends and frees the oldest queued request, as the driver does. */
    private static void endOne(RequestQueue q) {
        RequestQueue.Request rq = q.blkFetchRequest();
        assertThat(rq).as("a queued request").isNotNull();
        for (Bio b : rq.bios()) {
            b.bioEndio(0);
        }
        q.blkFinishRequest(rq);
    }

    @Test
    void aNewQueueHas128RequestsAndCongestsAt113AndClearsBelow103(Kernel k) {
        RequestQueue q = queue(k, k.mm().bdiCreate("sdt"));
        assertThat(q.nrRequests()).isEqualTo(128);
        assertThat(q.congestionOnThreshold()).isEqualTo(113);
        assertThat(q.congestionOffThreshold()).isEqualTo(103);
    }

    @ParameterizedTest(name = "nr_requests {0}: on {1}, off {2}")
    @CsvSource({"4, 4, 3", "64, 57, 51", "1000, 876, 812"})
    void congestionThresholdsFollowNrRequests(int nr, int on, int off, Kernel k) {
        RequestQueue q = queue(k, k.mm().bdiCreate("sdt"));
        q.setNrRequests(nr);
        assertThat(q.congestionOnThreshold()).isEqualTo(on);
        assertThat(q.congestionOffThreshold()).isEqualTo(off);
    }

    @Test
    void theWriteThatTakesThe113thRequestCongestsTheBdiAndFreeingBelow103ClearsItWakingCongestionSleepers(Kernel k)
            throws InterruptedException {
        BackingDevInfo bdi = k.mm().bdiCreate("sdt");
        RequestQueue q = queue(k, bdi);
        int pfn = k.mm().allocPages(Gfp.GFP_KERNEL, 0);
        BackingDev bd = k.mm().backingDev();
        for (int i = 0; i < 112; i++) {
            assertThat(q.blkQueueBio(pageBio(Bio.Op.WRITE, i * APART, pfn))).isTrue();
        }
        assertThat(q.count(BackingDev.BLK_RW_ASYNC)).isEqualTo(112);
        assertThat(bdi.writeCongested()).isFalse();
        assertThat(bd.nrBdiCongested(BackingDev.BLK_RW_ASYNC)).isZero();

        q.blkQueueBio(pageBio(Bio.Op.WRITE, 112 * APART, pfn));
        assertThat(bdi.writeCongested()).isTrue();
        assertThat(bdi.congested(BackingDev.BLK_RW_SYNC)).as("reads are another direction").isFalse();
        assertThat(bd.nrBdiCongested(BackingDev.BLK_RW_ASYNC)).isEqualTo(1);
        assertThat(q.congestedSets(BackingDev.BLK_RW_ASYNC)).isEqualTo(1);

        // A reclaimer naps in congestion_wait(); only a clear of the async direction ends it early.
        AtomicLong left = new AtomicLong(-1);
        CountDownLatch napped = new CountDownLatch(1);
        Task sleeper = k.kthreadRun("reclaimer", t -> {
            left.set(bd.congestionWait(BackingDev.BLK_RW_ASYNC, 1000));
            napped.countDown();
        });
        Await.until(() -> sleeper.waitRecord().snapshot() != null, "the reclaimer naps", BLOCKED);
        for (int c = 113; c > 103; c--) {
            endOne(q);
        }
        assertThat(q.count(BackingDev.BLK_RW_ASYNC)).isEqualTo(103);
        assertThat(bdi.writeCongested()).as("103 requests are not below the off threshold").isTrue();
        assertThat(napped.getCount()).as("no clear yet").isEqualTo(1);

        endOne(q);
        assertThat(q.count(BackingDev.BLK_RW_ASYNC)).isEqualTo(102);
        assertThat(bdi.writeCongested()).isFalse();
        assertThat(bd.nrBdiCongested(BackingDev.BLK_RW_ASYNC)).isZero();
        assertThat(q.congestedClears(BackingDev.BLK_RW_ASYNC)).isEqualTo(1);
        assertThat(napped.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(left.get()).as("woken before its 1000 jiffies").isPositive();
    }

    @Test
    void readsCongestTheSyncDirectionOnly(Kernel k) {
        BackingDevInfo bdi = k.mm().bdiCreate("sdt");
        RequestQueue q = queue(k, bdi);
        int pfn = k.mm().allocPages(Gfp.GFP_KERNEL, 0);
        for (int i = 0; i < 113; i++) {
            q.blkQueueBio(pageBio(Bio.Op.READ, i * APART, pfn));
        }
        assertThat(q.count(BackingDev.BLK_RW_SYNC)).isEqualTo(113);
        assertThat(bdi.congested(BackingDev.BLK_RW_SYNC)).isTrue();
        assertThat(bdi.writeCongested()).isFalse();
        // A REQ_SYNC write (fsync's) is counted with the reads.
        q.blkQueueBio(pageBio(Bio.Op.WRITE, 200 * APART, pfn).setReqSync());
        assertThat(q.count(BackingDev.BLK_RW_SYNC)).isEqualTo(114);
        assertThat(q.count(BackingDev.BLK_RW_ASYNC)).isZero();
    }

    @Test
    void aSubmitterSleepsInGetRequestWhenNoRequestIsFreeAndACompletionWakesIt(Kernel k) throws InterruptedException {
        BackingDevInfo bdi = k.mm().bdiCreate("sdt");
        RequestQueue q = queue(k, bdi);
        Task me = k.currentTask();
        int pfn = k.mm().allocPages(Gfp.GFP_KERNEL, 0);
        for (int i = 0; i < 128; i++) {
            q.blkQueueBio(pageBio(Bio.Op.WRITE, i * APART, pfn));
        }
        assertThat(q.getRequestSleeps()).isZero();
        CountDownLatch queued = new CountDownLatch(1);
        Task flusher = k.kthreadRun("flusher", t -> {
            q.blkQueueBio(pageBio(Bio.Op.WRITE, 500 * APART, pfn));
            queued.countDown();
        });
        WaitRecord.Snapshot s = Await.blocked(flusher, BLOCKED);
        assertThat(s.on().name()).isEqualTo("sdt rl->wait[BLK_RW_ASYNC]");
        assertThat(s.timed()).isFalse();
        assertThat(s.wakers().tasks()).containsExactly(me);
        assertThat(q.getRequestSleeps()).isEqualTo(1);
        assertThat(q.count(BackingDev.BLK_RW_ASYNC)).isEqualTo(128);

        endOne(q);
        assertThat(queued.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(q.count(BackingDev.BLK_RW_ASYNC)).isEqualTo(128);
        // Reads have their own 128: a full write list does not hold them.
        assertThat(q.blkQueueBio(pageBio(Bio.Op.READ, 0, pfn))).isTrue();
        assertThat(q.getRequestSleeps()).isEqualTo(1);
    }

    @Test
    void adjacentBiosJoinOneQueuedRequestUpToMaxSectors(Kernel k) {
        RequestQueue q = queue(k, k.mm().bdiCreate("sdt"));
        int pfn = k.mm().allocPages(Gfp.GFP_KERNEL, 0);
        for (int i = 0; i < 256; i++) {
            q.blkQueueBio(pageBio(Bio.Op.WRITE, (long) i * PAGE_SECTORS, pfn));
        }
        assertThat(q.count(BackingDev.BLK_RW_ASYNC)).as("two requests of 512 KiB").isEqualTo(2);
        assertThat(q.merges()).isEqualTo(254);
        RequestQueue.Request first = q.blkFetchRequest();
        assertThat(first.sector()).isZero();
        assertThat(first.nrSectors()).isEqualTo(RequestQueue.BLK_DEF_MAX_SECTORS);
        assertThat(first.bios()).hasSize(128);
        assertThat(first.bios().get(127).sector()).isEqualTo(127L * PAGE_SECTORS);
    }

    @Test
    void onlyABioOfTheSameDirectionThatStartsWhereAQueuedRequestEndsJoinsIt(Kernel k) {
        RequestQueue q = queue(k, k.mm().bdiCreate("sdt"));
        int pfn = k.mm().allocPages(Gfp.GFP_KERNEL, 0);
        q.blkQueueBio(pageBio(Bio.Op.WRITE, 0, pfn));
        q.blkQueueBio(pageBio(Bio.Op.READ, PAGE_SECTORS, pfn));
        q.blkQueueBio(pageBio(Bio.Op.WRITE, PAGE_SECTORS, pfn).setReqSync());
        q.blkQueueBio(pageBio(Bio.Op.WRITE, 3L * PAGE_SECTORS, pfn));
        assertThat(q.merges()).as("a read, a sync write, a gap").isZero();
        assertThat(q.allocated()).isEqualTo(4);

        List<RequestQueue.Request> dispatched = new ArrayList<>();
        for (RequestQueue.Request rq; (rq = q.blkFetchRequest()) != null; ) {
            dispatched.add(rq);
        }
        // The driver took them: a bio behind a dispatched request takes a new one.
        q.blkQueueBio(pageBio(Bio.Op.WRITE, 4L * PAGE_SECTORS, pfn));
        assertThat(q.merges()).isZero();
        assertThat(q.allocated()).isEqualTo(5);
        assertThat(dispatched).hasSize(4);
    }

    @Test
    void lowerMaxSectorsKbMakesSmallerRequests(Kernel k) {
        RequestQueue q = queue(k, k.mm().bdiCreate("sdt"));
        q.setMaxSectorsKb(16);
        int pfn = k.mm().allocPages(Gfp.GFP_KERNEL, 0);
        for (int i = 0; i < 16; i++) {
            q.blkQueueBio(pageBio(Bio.Op.WRITE, (long) i * PAGE_SECTORS, pfn));
        }
        assertThat(q.count(BackingDev.BLK_RW_ASYNC)).isEqualTo(4);
    }
}
