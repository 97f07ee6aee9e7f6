package dev.reclaimlab.fuzz;

import dev.reclaimlab.fuzz.Harness.Res;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.kernel.WorkStruct;
import dev.reclaimlab.kernel.Workqueue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The workqueue and CPU part of the fuzz (tooling; the API it calls models Linux 4.3's kernel/workqueue.c,
 * queue_work_on() and set_cpus_allowed_ptr() to one CPU), on a kernel of its own (its kworkers run beside the fuzz thread,
 * which the mm fuzz's quiet kernel must not have): alloc_workqueue(), queue_work() and queue_work_on(),
 * flush_work(), drain_workqueue(), destroy_workqueue(), and get_cpu()/put_cpu(), runOnCpu() and
 * set_cpus_allowed() with good and bad arguments. Every work counts its runs; whenever a flush or drain
 * returns, each work it covers has run once for each queue_work() that returned true.
 */
final class WorkqueueFuzz {
    private static final int[] FLAGS = {0, Workqueue.WQ_UNBOUND, Workqueue.WQ_MEM_RECLAIM, Workqueue.WQ_HIGHPRI,
        Workqueue.WQ_MEM_RECLAIM | Workqueue.WQ_UNBOUND, Workqueue.WQ_FREEZABLE | Workqueue.WQ_MEM_RECLAIM,
        Workqueue.WQ_CPU_INTENSIVE, Workqueue.WQ_UNBOUND | Workqueue.WQ_HIGHPRI};
    private static final int MAX_QUEUES = 4;
    private static final int MAX_WORKS = 24;

    /** A work the fuzz owns: how often it ran, how often a queue_work() of it returned true, where it went last. */
    private static final class Work {
        final WorkStruct ws;
        final AtomicInteger runs = new AtomicInteger();
        int queued;
        Workqueue lastWq;

        Work(int n, boolean touchCpu) {
            ws = new WorkStruct("fuzz_work" + n, () -> {
                if (touchCpu) {
                    Task t = Task.current();
                    t.getCpu();
                    t.putCpu();
                }
                runs.incrementAndGet();
            });
        }
    }

    private final Harness h;
    private final SplittableRandom r;
    private final Kernel k;
    private final List<Workqueue> live = new ArrayList<>();
    private final List<Workqueue> destroyed = new ArrayList<>();
    private final List<Work> works = new ArrayList<>();
    private int names;

    WorkqueueFuzz(Harness h, SplittableRandom r, Kernel k) {
        this.h = h;
        this.r = r;
        this.k = k;
    }

    void step() {
        boolean valid = r.nextInt(100) < 80;
        int op = r.nextInt(100);
        if (op < 10) {
            alloc(valid);
        } else if (op < 40) {
            queue(valid);
        } else if (op < 55) {
            flush(valid);
        } else if (op < 62) {
            drain();
        } else if (op < 68) {
            destroy(valid);
        } else {
            cpu(valid);
        }
    }

    private void alloc(boolean valid) {
        if (valid && live.size() >= MAX_QUEUES) {
            destroy(true);
            return;
        }
        String name = valid ? "fuzzwq" + names++ : (r.nextBoolean() ? "" : null);
        int flags = valid || r.nextBoolean() ? FLAGS[r.nextInt(FLAGS.length)] : 1 << (12 + r.nextInt(19));
        if (!valid && name == null && r.nextBoolean()) {
            name = "fuzzwq-bad";
            flags = 1 << (12 + r.nextInt(19));
        }
        int maxActive = r.nextInt(4) == 0 ? r.nextInt(Integer.MIN_VALUE, Integer.MAX_VALUE) : r.nextInt(8);
        String n = name;
        int f = flags;
        h.call(k, "allocWorkqueue", valid, n + ", 0x" + Integer.toHexString(f) + ", " + maxActive, () -> {
            Workqueue wq = Workqueue.allocWorkqueue(k, n, f, maxActive);
            if (wq.maxActive() < 1 || wq.maxActive() > Math.max(Workqueue.WQ_MAX_ACTIVE, 4 * k.nrCpus())) {
                throw new Harness.Corrupt(wq + ": max_active " + wq.maxActive() + " not clamped");
            }
            live.add(wq);
            return Res.SUCCESS;
        });
    }

    private Work work() {
        if (works.size() < MAX_WORKS && (works.isEmpty() || r.nextInt(4) == 0)) {
            works.add(new Work(works.size(), r.nextBoolean()));
        }
        return works.get(r.nextInt(works.size()));
    }

    private void queue(boolean valid) {
        if (live.isEmpty()) {
            alloc(true);
            return;
        }
        Work w = work();
        boolean on = r.nextBoolean();
        Workqueue wq;
        int cpu = Workqueue.WORK_CPU_UNBOUND;
        boolean nullWork = false;
        boolean destroyedQueue = false;
        if (valid) {
            wq = live.get(r.nextInt(live.size()));
            if (on && r.nextInt(3) > 0) {
                cpu = r.nextInt(k.nrCpus());
            }
        } else {
            int how = destroyed.isEmpty() ? r.nextInt(2) : r.nextInt(3);
            destroyedQueue = how == 2;
            wq = destroyedQueue ? destroyed.get(r.nextInt(destroyed.size())) : live.get(r.nextInt(live.size()));
            if (how == 0) {
                on = true;
                cpu = r.nextBoolean() ? k.nrCpus() + r.nextInt(1000) : -2 - r.nextInt(1000);
            } else if (how == 1) {
                nullWork = true;
            }
        }
        Workqueue q = wq;
        int c = cpu;
        boolean viaOn = on;
        WorkStruct ws = nullWork ? null : w.ws;
        // A work pending on one queue may not be queued on another: queue_work() would say false for the
        // wrong reason, so the fuzz asks only the queue it last went to while it may still be pending.
        if (valid && w.lastWq != null && w.lastWq != q && w.ws.workBusy()) {
            return;
        }
        // A pending work makes queue_work() say false before it looks at the queue: no refusal to see.
        if (destroyedQueue && w.ws.workPending()) {
            return;
        }
        h.call(k, viaOn ? "queueWorkOn" : "queueWork", valid, q.name() + ", " + (viaOn ? c + ", " : "")
                + (ws == null ? "null" : ws.name()), () -> {
            boolean queued = viaOn ? q.queueWorkOn(c, ws) : q.queueWork(ws);
            if (queued) {
                w.queued++;
                w.lastWq = q;
            }
            return Res.SUCCESS;
        });
    }

    private void check(Work w, String after) {
        int ran = w.runs.get();
        if (ran != w.queued) {
            throw new Harness.Corrupt(w.ws.name() + " ran " + ran + " times after " + after + ", queued "
                    + w.queued);
        }
    }

    private void flush(boolean valid) {
        if (works.isEmpty()) {
            queue(true);
            return;
        }
        Work w = works.get(r.nextInt(works.size()));
        WorkStruct ws = valid ? w.ws : null;
        h.call(k, "flushWork", valid, ws == null ? "null" : ws.name(), () -> {
            Workqueue.flushWork(ws);
            check(w, "flush_work");
            return Res.SUCCESS;
        });
    }

    private void drain() {
        if (live.isEmpty()) {
            alloc(true);
            return;
        }
        Workqueue wq = live.get(r.nextInt(live.size()));
        h.call(k, "drainWorkqueue", true, wq.name(), () -> {
            wq.drainWorkqueue();
            for (Work w : works) {
                if (w.lastWq == wq) {
                    check(w, "drain_workqueue(" + wq.name() + ")");
                }
            }
            return Res.SUCCESS;
        });
    }

    private void destroy(boolean valid) {
        if (valid ? live.isEmpty() : destroyed.isEmpty()) {
            return;
        }
        Workqueue wq = valid ? live.get(r.nextInt(live.size())) : destroyed.get(r.nextInt(destroyed.size()));
        h.call(k, "destroyWorkqueue", valid, wq.name(), () -> {
            wq.destroyWorkqueue();
            live.remove(wq);
            destroyed.add(wq);
            for (Work w : works) {
                if (w.lastWq == wq) {
                    check(w, "destroy_workqueue(" + wq.name() + ")");
                }
            }
            return Res.SUCCESS;
        });
    }

    private void cpu(boolean valid) {
        Task me = k.currentTask();
        int nr = k.nrCpus();
        int bad = r.nextBoolean() ? nr + r.nextInt(1000) : -1 - r.nextInt(1000);
        switch (r.nextInt(4)) {
            case 0: {
                int c = valid ? r.nextInt(nr) : bad;
                h.call(k, "setCpusAllowed", valid, Integer.toString(c), () -> {
                    me.setCpusAllowed(c);
                    if (me.cpu() != c) {
                        throw new Harness.Corrupt("set_cpus_allowed(" + c + ") left the task on CPU" + me.cpu());
                    }
                    return Res.SUCCESS;
                });
                break;
            }
            case 1: {
                int c = valid ? r.nextInt(nr) : bad;
                h.call(k, "runOnCpu", valid, Integer.toString(c), () -> {
                    int[] on = {-1};
                    me.runOnCpu(c, () -> on[0] = me.cpu());
                    if (on[0] != c || me.preemptCount() != 0) {
                        throw new Harness.Corrupt("runOnCpu(" + c + ") ran on CPU" + on[0] + ", preempt count after "
                                + me.preemptCount());
                    }
                    return Res.SUCCESS;
                });
                break;
            }
            case 2: {
                int depth = 1 + r.nextInt(3);
                h.call(k, "getCpu/putCpu", true, "depth " + depth, () -> {
                    int first = me.getCpu();
                    for (int i = 1; i < depth; i++) {
                        if (me.getCpu() != first) {
                            throw new Harness.Corrupt("a nested get_cpu() moved the task off CPU" + first);
                        }
                    }
                    for (int i = 0; i < depth; i++) {
                        me.putCpu();
                    }
                    return me.preemptCount() == 0 ? Res.SUCCESS : Res.ERROR;
                });
                break;
            }
            default:
                h.call(k, "putCpu", false, "without get_cpu()", () -> {
                    me.putCpu();
                    return Res.SUCCESS;
                });
                break;
        }
    }

    /** Drains and destroys every queue the fuzz made, then checks every work ran as often as it was queued. */
    void finish(FuzzStats stats) {
        k.currentTask();
        List<String> problems = new ArrayList<>();
        for (Workqueue wq : new ArrayList<>(live)) {
            try {
                wq.destroyWorkqueue();
            } catch (RuntimeException e) {
                problems.add(wq.name() + ": " + FuzzStats.oneLine(String.valueOf(e.getMessage())));
            }
        }
        live.clear();
        for (Work w : works) {
            if (w.runs.get() != w.queued) {
                problems.add(w.ws.name() + " ran " + w.runs.get() + " of " + w.queued);
            }
        }
        stats.integrity(problems.isEmpty(), "workqueues: " + works.size() + " works each ran once per queueing, "
                + names + " queues made, every one destroyed" + (problems.isEmpty() ? "" : ": " + problems));
        stats.integrity(k.oopses().isEmpty(), "workqueues: no oops in a kworker"
                + (k.oopses().isEmpty() ? "" : ": " + k.oopses().get(0)));
    }
}
