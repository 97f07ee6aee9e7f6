package dev.reclaimlab.kernel;

import dev.reclaimlab.locking.WaitQueue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A workqueue with its own pool of workers (kernel/workqueue.c, an unbound WQ_MEM_RECLAIM queue such as
 * "kloopd1" or "xfs-cil/loop1"): {@code nrWorkers} kthreads, all named after the queue, run queued
 * {@link WorkStruct}s as themselves, so Task.current() in a work is the worker. As in the kernel since 3.7 a
 * work never runs on two workers at once: a worker that picks a work still running elsewhere hands it to
 * that worker (find_worker_executing_work()).
 *
 * <p>Waits on a work are declared to the watchdog truthfully: while a work is queued any worker of the
 * queue may run it, so all of them owe it; once it runs, only its worker does.
 */
public final class Workqueue {
    private final Kernel kernel;
    private final String name;
    private final Task[] workers;
    private final ConcurrentLinkedQueue<WorkStruct> worklist = new ConcurrentLinkedQueue<>();
    // Per worker: works handed over because they were already running on it (worker->scheduled).
    private final List<ConcurrentLinkedQueue<WorkStruct>> scheduled = new ArrayList<>();
    private final WaitQueue moreWork;
    private final WaitQueue drainWait;
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean destroying;

    private Workqueue(Kernel kernel, String name, int nrWorkers) {
        this.kernel = kernel;
        this.name = name;
        this.workers = new Task[nrWorkers];
        this.moreWork = new WaitQueue(name + "->worklist");
        this.drainWait = new WaitQueue("drain_workqueue " + name);
        for (int i = 0; i < nrWorkers; i++) {
            scheduled.add(new ConcurrentLinkedQueue<>());
        }
    }

    /** alloc_workqueue(): starts {@code nrWorkers} kthreads named {@code name}. */
    public static Workqueue allocWorkqueue(Kernel kernel, String name, int nrWorkers) {
        if (kernel == null || name == null || name.isEmpty()) {
            throw new IllegalArgumentException("alloc_workqueue: a kernel and a name are required (name " + name + ")");
        }
        if (nrWorkers < 1) {
            throw new IllegalArgumentException("alloc_workqueue(" + name + "): nrWorkers " + nrWorkers + " must be >= 1");
        }
        Workqueue wq = new Workqueue(kernel, name, nrWorkers);
        for (int i = 0; i < nrWorkers; i++) {
            int id = i;
            wq.workers[i] = kernel.kthreadRun(name, self -> wq.workerThread(self, id));
        }
        wq.drainWait.expectWakers(wq.workers);
        return wq;
    }

    public String name() {
        return name;
    }

    public Kernel kernel() {
        return kernel;
    }

    /** The worker tasks; any of them may run a queued work. */
    public Task[] workers() {
        return workers.clone();
    }

    /** Whether {@code t} is one of this queue's workers. */
    public boolean isWorker(Task t) {
        return indexOf(t) >= 0;
    }

    /**
     * queue_work(): queues {@code work} unless it is already pending (then returns false). Any task may
     * call it; it never sleeps.
     */
    public boolean queueWork(WorkStruct work) {
        if (destroying && !isWorker(Task.current())) {
            throw new IllegalStateException("queue_work(" + work.name() + "): workqueue " + name + " is being destroyed");
        }
        if (workers[0].state() == Task.TASK_DEAD) {
            throw new IllegalStateException("queue_work(" + work.name() + "): the workers of workqueue " + name
                    + " have exited (kernel closed or panicked)");
        }
        if (!work.pending.compareAndSet(false, true)) {
            return false;
        }
        work.wq = this;
        work.flushWait.expectWakers(workers);
        inFlight.incrementAndGet();
        worklist.add(work);
        moreWork.wakeUp();
        return true;
    }

    /**
     * flush_work(): sleeps in D state until {@code work} is neither pending nor running; true if it had to
     * wait. The wait is owed by the queue's workers (the running one once the work started).
     */
    public static boolean flushWork(WorkStruct work) {
        Workqueue wq = work.wq;
        if (wq == null) {
            return false;
        }
        Task t = Task.current();
        if (work.current == t) {
            throw new IllegalStateException("flush_work(" + work.name() + ") from inside the work on " + t
                    + ": it would wait for itself");
        }
        if (!work.workBusy()) {
            return false;
        }
        work.flushWait.waitEvent(() -> !work.workBusy());
        return true;
    }

    /** drain_workqueue(): sleeps until nothing is queued or running, including works queued meanwhile. */
    public void drainWorkqueue() {
        Task t = Task.current();
        if (isWorker(t)) {
            throw new IllegalStateException("drain_workqueue(" + name + ") from its own worker " + t);
        }
        drainWait.waitEvent(() -> inFlight.get() == 0);
    }

    /** destroy_workqueue(): drains the queue, then stops its workers. Queueing afterwards throws. */
    public void destroyWorkqueue() {
        destroying = true;
        drainWorkqueue();
        for (Task w : workers) {
            if (!kernel.kthreadStop(w)) {
                throw new IllegalStateException("destroy_workqueue(" + name + "): worker " + w + " did not stop");
            }
        }
    }

    private int indexOf(Task t) {
        for (int i = 0; i < workers.length; i++) {
            if (workers[i] == t) {
                return i;
            }
        }
        return -1;
    }

    /** worker_thread(): runs works until asked to stop; idles interruptibly, so it is neither hung nor busy. */
    private void workerThread(Task self, int id) {
        ConcurrentLinkedQueue<WorkStruct> mine = scheduled.get(id);
        while (!self.kthreadShouldStop()) {
            WorkStruct w = mine.poll();
            if (w == null) {
                w = worklist.poll();
            }
            if (w == null) {
                moreWork.waitEventInterruptibleTimeout(
                        () -> !mine.isEmpty() || !worklist.isEmpty() || self.kthreadShouldStop(), -1);
                continue;
            }
            if (!handedOver(self, w)) {
                processOneWork(self, w);
            }
        }
    }

    /**
     * Non-reentrancy: if {@code w} still runs on another worker, that worker takes it next. Returns false
     * when the caller must run it (not running elsewhere, or the other worker finished meanwhile).
     */
    private boolean handedOver(Task self, WorkStruct w) {
        Task busy = w.current;
        int other = busy == null || busy == self ? -1 : indexOf(busy);
        if (other < 0) {
            return false;
        }
        ConcurrentLinkedQueue<WorkStruct> theirs = scheduled.get(other);
        w.flushWait.expectWakers(busy);
        theirs.add(w);
        // The runner clears current before it polls its list: if it already has, take the work back.
        return w.current == busy || !theirs.remove(w);
    }

    /** process_one_work(): runs {@code w} as this worker; an exception is an oops and the worker goes on. */
    private void processOneWork(Task self, WorkStruct w) {
        w.current = self;
        w.flushWait.expectWakers(self);
        w.pending.set(false);
        self.setCurrentWork(name + " " + w.name());
        try {
            w.func().run();
        } catch (KernelPanic p) {
            throw p;
        } catch (Throwable e) {
            kernel.printk("BUG: workqueue " + name + ": work " + w.name() + " oopsed on " + self + ": " + e);
            kernel.oops(e);
        } finally {
            self.setCurrentWork(null);
            if (w.current == self) {
                w.current = null;
            }
            w.flushWait.wakeUp();
            if (inFlight.decrementAndGet() == 0) {
                drainWait.wakeUp();
            }
        }
    }

    @Override
    public String toString() {
        return "workqueue " + name + " " + Arrays.toString(workers);
    }
}
