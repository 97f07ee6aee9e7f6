package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import dev.reclaimlab.testkit.Kernels;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static dev.reclaimlab.mm.Gfp.GFP_KERNEL;
import static org.assertj.core.api.Assertions.assertThat;

@ExtendWith(KernelExtension.class)
class KmallocConcurrencyTest {

    private static final int THREADS = 3;
    private static final int OPS = 150_000;

    @ParameterizedTest(name = "slub_debug={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    @Boot(memory = "64m", cpus = 2)
    void threadsHammeringKmallocWithCrossThreadFreesNeverShareAnObjectAndGiveEveryByteBack(boolean debug, Kernels kernels)
            throws Exception {
        Kernel k = kernels.boot(b -> b.slubDebug(debug));
        Mm mm = k.mm();
        PhysMem mem = mm.mem();
        ConcurrentHashMap<Long, Long> live = new ConcurrentHashMap<>();
        ConcurrentLinkedQueue<long[]> handoff = new ConcurrentLinkedQueue<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch start = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(THREADS);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            int id = t;
            Thread th = new Thread(() -> {
                try {
                    start.await();
                    work(mm, mem, id, live, handoff);
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    done.countDown();
                }
            }, "hammer" + t);
            threads.add(th);
            th.start();
        }
        start.countDown();
        assertThat(done.await(100, TimeUnit.SECONDS)).isTrue();
        for (Thread th : threads) {
            th.join();
        }
        if (failure.get() != null) {
            throw new AssertionError("worker failed (slub_debug=" + debug + ")", failure.get());
        }
        for (long[] o; (o = handoff.poll()) != null; ) {
            check(mem, o);
            live.remove(o[0]);
            mm.kfree(o[0]);
        }
        assertThat(live).isEmpty();
        for (KmemCache c : mm.slub().caches()) {
            assertThat(c.activeObjects()).as("%s live objects", c.name()).isZero();
            assertThat(c.statSum(KmemCache.PC_ALLOC)).as("%s allocs == frees", c.name())
                    .isEqualTo(c.statSum(KmemCache.PC_FREE));
        }
        assertThat(mm.slub().caches().stream().mapToLong(c -> c.statSum(KmemCache.PC_FREE_REMOTE)).sum())
                .as("cross-CPU frees were exercised").isGreaterThan(0);
        mm.slub().shrinkAllCaches();
        mm.pageAlloc().drainAllPages();
        assertThat(mm.pageAlloc().nrFreePages()).isEqualTo(mem.nrPages());
        assertThat(mm.vmstat().get(VmStatItem.NR_SLAB_RECLAIMABLE_B)).isZero();
        assertThat(mm.vmstat().get(VmStatItem.NR_SLAB_UNRECLAIMABLE_B)).isZero();
        assertThat(mm.vmstat().get(VmStatItem.PGALLOC_NORMAL)).isEqualTo(mm.vmstat().get(VmStatItem.PGFREE));
        assertThat(mm.slabReports()).isEmpty();
    }

    private static void work(Mm mm, PhysMem mem, int id, ConcurrentHashMap<Long, Long> live,
                             ConcurrentLinkedQueue<long[]> handoff) {
        SplittableRandom rnd = new SplittableRandom(id * 7919L);
        List<long[]> mine = new ArrayList<>();
        long seq = (long) id << 40;
        for (int i = 0; i < OPS; i++) {
            int action = rnd.nextInt(10);
            if (action < 5 || mine.isEmpty()) {
                int size = rnd.nextInt(100) < 90 ? rnd.nextInt(16, 300) : rnd.nextInt(300, 12_000);
                long addr = mm.kmalloc(size, GFP_KERNEL);
                if (addr == 0) {
                    throw new AssertionError("kmalloc(" + size + ") failed: " + AllocFailure.of(Task0.current(mm)).warnAlloc());
                }
                long tag = ++seq;
                Long prev = live.putIfAbsent(addr, tag);
                if (prev != null) {
                    throw new AssertionError(String.format("object 0x%x handed out twice (tags %x, %x)", addr, prev, tag));
                }
                mem.putLong(addr, tag);
                mem.putLong(addr + size - 8, ~tag);
                long[] o = {addr, size, tag};
                if (action < 2) {
                    handoff.add(o);
                } else {
                    mine.add(o);
                }
            } else if (action < 8) {
                long[] o = mine.remove(mine.size() - 1 - rnd.nextInt(Math.min(8, mine.size())));
                release(mm, mem, live, o);
            } else {
                long[] o = handoff.poll();
                if (o != null) {
                    release(mm, mem, live, o);
                }
            }
        }
        for (long[] o : mine) {
            release(mm, mem, live, o);
        }
    }

    private static void release(Mm mm, PhysMem mem, ConcurrentHashMap<Long, Long> live, long[] o) {
        check(mem, o);
        if (!live.remove(o[0], o[2])) {
            throw new AssertionError(String.format("object 0x%x was not live with tag %x", o[0], o[2]));
        }
        mm.kfree(o[0]);
    }

    private static void check(PhysMem mem, long[] o) {
        long head = mem.getLong(o[0]);
        long tail = mem.getLong(o[0] + o[1] - 8);
        if (head != o[2] || tail != ~o[2]) {
            throw new AssertionError(String.format("object 0x%x (size %d) was overwritten: head %x tail %x, tag %x",
                    o[0], o[1], head, tail, o[2]));
        }
    }

    /** The calling thread's task, for failure messages. */
    private static final class Task0 {
        static dev.reclaimlab.kernel.Task current(Mm mm) {
            return mm.kernel().currentTask();
        }
    }
}
