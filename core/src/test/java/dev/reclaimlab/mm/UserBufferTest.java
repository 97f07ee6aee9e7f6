package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(60)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m", kswapd = false)
class UserBufferTest {

    @Test
    void eachPageFaultsInOnItsFirstWriteAndExitGivesEveryPageBack(Kernel k) {
        PageAlloc pa = k.mm().pageAlloc();
        long free = pa.nrFreePages() + pa.pcpPages();
        byte[] data = new byte[6000];
        new java.util.SplittableRandom(1).nextBytes(data);
        try (UserBuffer buf = new UserBuffer(k.mm(), 5 * PhysMem.PAGE_SIZE)) {
            assertThat(buf.residentPages()).as("nothing is in before a write").isZero();
            assertThat(buf.copyToUser(PhysMem.PAGE_SIZE - 100, data, 0, data.length)).isZero();
            assertThat(buf.faults()).as("the write spans pages 0, 1 and 2").isEqualTo(3);
            assertThat(buf.residentPages()).isEqualTo(3);
            assertThat(buf.copyToUser(PhysMem.PAGE_SIZE, data, 0, 10)).isZero();
            assertThat(buf.faults()).as("a page already in does not fault again").isEqualTo(3);
            byte[] back = new byte[data.length];
            assertThat(buf.copyFromUser(PhysMem.PAGE_SIZE - 100, back, 0, back.length)).isZero();
            assertThat(Arrays.copyOfRange(back, 110, back.length)).isEqualTo(Arrays.copyOfRange(data, 110, data.length));
            byte[] tail = new byte[PhysMem.PAGE_SIZE];
            Arrays.fill(tail, (byte) 7);
            assertThat(buf.copyFromUser(4L * PhysMem.PAGE_SIZE, tail, 0, tail.length)).isZero();
            assertThat(tail).as("a page never written reads as the zero page").containsOnly(0);
            byte[] head = new byte[PhysMem.PAGE_SIZE - 100];
            buf.copyFromUser(0, head, 0, head.length);
            assertThat(head).as("a faulted page comes in zeroed").containsOnly(0);
            assertThat(buf.faults()).as("reads allocate nothing").isEqualTo(3);
        }
        assertThat(pa.nrFreePages() + pa.pcpPages()).as("exit_mmap() freed the pages").isEqualTo(free);
    }

    @Test
    void aFaultReclaimsWithGfpHighuserMovableSoWithGfpFs(Kernel k) {
        PageAlloc pa = k.mm().pageAlloc();
        List<Integer> held = new ArrayList<>();
        for (int p; (p = pa.allocPages(Gfp.GFP_NOWAIT, 0)) != PageAlloc.NULL_PAGE; ) {
            held.add(p);
        }
        List<Integer> gfps = new ArrayList<>();
        Deque<Integer> parked = new ArrayDeque<>(held.subList(0, 32));
        pa.setReclaimHooks(new ReclaimHooks() {
            @Override
            public void wakeupKswapd(int order, int gfp) {
            }

            @Override
            public long tryToFreePages(int gfp, int order) {
                gfps.add(gfp);
                long n = 0;
                while (!parked.isEmpty()) {
                    pa.freePages(parked.pop(), 0);
                    n++;
                }
                pa.drainAllPages();
                return n;
            }
        });
        try (UserBuffer buf = new UserBuffer(k.mm(), PhysMem.PAGE_SIZE)) {
            assertThat(buf.copyToUser(0, new byte[8], 0, 8)).isZero();
        }
        assertThat(gfps).as("the fault at min went to direct reclaim once").hasSize(1);
        assertThat(gfps.get(0) & Gfp.GFP_KERNEL).as("with __GFP_FS: nfs_release_page() would commit")
                .isEqualTo(Gfp.GFP_KERNEL);
        assertThat(gfps.get(0) & UserBuffer.GFP_ANON_FAULT).isEqualTo(UserBuffer.GFP_ANON_FAULT);
        held.subList(32, held.size()).forEach(p -> pa.freePages(p, 0));
    }

    @Test
    void aFaultThatGetsNoPageEndsTheCopyShortAndWritesNothingPastIt(Kernel k) {
        try (UserBuffer buf = new UserBuffer(k.mm(), 2 * PhysMem.PAGE_SIZE)) {
            buf.copyToUser(0, new byte[1], 0, 1);
            FailPageAlloc fpa = k.faultInjection().failPageAlloc();
            fpa.ignoreGfpWait(false).ignoreGfpHighmem(false).minOrder(0).attr().probability(100).times(1).verbose(0);
            byte[] ones = new byte[PhysMem.PAGE_SIZE];
            Arrays.fill(ones, (byte) 1);
            int notCopied = buf.copyToUser(PhysMem.PAGE_SIZE / 2, ones, 0, ones.length);
            assertThat(notCopied).as("VM_FAULT_OOM on page 1: the half in page 0 was copied")
                    .isEqualTo(PhysMem.PAGE_SIZE / 2);
            assertThat(buf.faultsFailed()).isEqualTo(1);
            assertThat(buf.residentPages()).isEqualTo(1);
            assertThat(buf.copyToUser(PhysMem.PAGE_SIZE, ones, 0, 1)).as("the next fault gets its page").isZero();
        }
    }

    @Test
    void aCopyOutsideTheBufferCopiesNothingAndBadKernelArgumentsAreRefused(Kernel k) {
        try (UserBuffer buf = new UserBuffer(k.mm(), 100)) {
            byte[] b = new byte[16];
            assertThat(buf.copyToUser(90, b, 0, 16)).as("past the end: access_ok() fails").isEqualTo(16);
            assertThat(buf.copyToUser(-1, b, 0, 1)).isEqualTo(1);
            assertThat(buf.copyToUser(Long.MAX_VALUE, b, 0, 16)).isEqualTo(16);
            assertThat(buf.copyFromUser(100, b, 0, 1)).isEqualTo(1);
            assertThat(buf.accessOk(0, 100)).isTrue();
            assertThat(buf.accessOk(0, -1)).as("a negative length is no range").isFalse();
            assertThat(buf.accessOk(50, Long.MAX_VALUE)).isFalse();
            assertThat(buf.faults()).isZero();
            assertThatThrownBy(() -> buf.copyToUser(0, null, 0, 1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("null kernel buffer");
            assertThatThrownBy(() -> buf.copyToUser(0, b, 10, 7)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("7 bytes at 10 of a 16-byte kernel buffer");
            assertThatThrownBy(() -> buf.copyFromUser(0, b, -1, 1)).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> new UserBuffer(k.mm(), 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("want 1 to");
        assertThatThrownBy(() -> new UserBuffer(k.mm(), 1L << 40)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new UserBuffer(null, 1)).isInstanceOf(IllegalArgumentException.class);
        UserBuffer gone = new UserBuffer(k.mm(), 10);
        gone.close();
        gone.close();
        assertThatThrownBy(() -> gone.copyToUser(0, new byte[1], 0, 1)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("has exited");
    }

    @Test
    void onlyTheOwningTaskTouchesItsMemory(Kernel k) throws Exception {
        UserBuffer buf = new UserBuffer(k.mm(), 10);
        AtomicReference<Throwable> seen = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(1);
        Task other = k.kthreadRun("other", self -> {
            try {
                buf.copyToUser(0, new byte[1], 0, 1);
            } catch (Throwable t) {
                seen.set(t);
            } finally {
                done.countDown();
            }
        });
        assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(seen.get()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("only its own task touches a process's memory").hasMessageContaining(other.toString());
        assertThat(buf.faults()).isZero();
        buf.close();
    }
}
