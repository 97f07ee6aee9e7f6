package dev.reclaimlab.kernel;

import dev.reclaimlab.locking.RawSpinLock;
import dev.reclaimlab.locking.WaitQueue;

import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The kernel's timer base (kernel/time/timer.c's tvec_base, as in Linux 4.3, without the wheel): armed
 * {@link TimerList}s fire in the timer softirq, which the emulator runs on one kernel thread,
 * "ksoftirqd/0", started by {@link #start()}. Timers are few (a worker pool's mayday and idle timers), so
 * the base keeps a plain list and the softirq looks for the earliest one.
 */
public final class Timers {
    private final Kernel kernel;
    private final CopyOnWriteArrayList<TimerList> timers = new CopyOnWriteArrayList<>();
    private final RawSpinLock lock = new RawSpinLock("timer base lock");
    /** The softirq idles here until the next expiry or a newly armed timer. */
    private final WaitQueue softirqWait = new WaitQueue("timer softirq");
    /** del_timer_sync() waits here for a running timer function. */
    private final WaitQueue runningWait = new WaitQueue("del_timer_sync");
    private volatile boolean kicked;
    private volatile Task softirq;

    Timers(Kernel kernel) {
        this.kernel = kernel;
    }

    /** init_timer() / setup_timer(): a disarmed timer that will run {@code fn}. */
    public TimerList setupTimer(String name, Runnable fn) {
        if (name == null || fn == null) {
            throw new IllegalArgumentException("setup_timer: a name and a function are required (name " + name + ")");
        }
        TimerList t = new TimerList(this, name, fn);
        timers.add(t);
        return t;
    }

    /** Removes a timer that will never be armed again (its owner is gone). */
    void forget(TimerList t) {
        timers.remove(t);
    }

    /** Starts the softirq thread once; timers armed before it runs fire when it does. */
    void start() {
        if (softirq != null) {
            return;
        }
        lock.lock();
        boolean create = softirq == null;
        Task t = null;
        try {
            if (create) {
                t = kernel.kthreadCreateAtBoot("ksoftirqd/0", this::runTimerSoftirq);
                softirq = t;
            }
        } finally {
            lock.unlock();
        }
        if (create) {
            kernel.kthreadStart(t);
            runningWait.expectWaker(t);
        }
    }

    void modTimer(TimerList t, long expires) {
        lock.lock();
        try {
            t.expires = expires;
            t.pending = true;
        } finally {
            lock.unlock();
        }
        kicked = true;
        softirqWait.wakeUp();
    }

    boolean timerPending(TimerList t) {
        lock.lock();
        try {
            return t.pending;
        } finally {
            lock.unlock();
        }
    }

    void delTimerSync(TimerList t) {
        Task me = Task.current();
        if (me == softirq) {
            throw new IllegalStateException("del_timer_sync(" + t.name()
                    + ") from the timer softirq would wait for itself");
        }
        for (;;) {
            boolean running;
            lock.lock();
            try {
                t.pending = false;
                running = t.running;
            } finally {
                lock.unlock();
            }
            if (!running) {
                return;
            }
            runningWait.waitEvent(() -> !isRunning(t));
        }
    }

    private boolean isRunning(TimerList t) {
        lock.lock();
        try {
            return t.running;
        } finally {
            lock.unlock();
        }
    }

    /** run_timer_softirq(): fires expired timers, one at a time, with preemption off; idles in between. */
    private void runTimerSoftirq(Task self) {
        while (!self.kthreadShouldStop()) {
            kicked = false;
            long now = System.nanoTime();
            long next = Long.MAX_VALUE;
            TimerList due = null;
            lock.lock();
            try {
                for (TimerList t : timers) {
                    if (!t.pending) {
                        continue;
                    }
                    if (t.expires - now <= 0) {
                        due = t;
                        t.pending = false;
                        t.running = true;
                        break;
                    }
                    next = Math.min(next, t.expires - now);
                }
            } finally {
                lock.unlock();
            }
            if (due != null) {
                callTimerFn(self, due);
                continue;
            }
            softirqWait.waitEventInterruptibleTimeout(() -> kicked || self.kthreadShouldStop(),
                    next == Long.MAX_VALUE ? -1 : next);
        }
    }

    private void callTimerFn(Task self, TimerList t) {
        self.getCpu();
        try {
            t.fn().run();
        } catch (KernelPanic p) {
            throw p;
        } catch (RuntimeException e) {
            kernel.printk("BUG: timer " + t.name() + " oopsed: " + e);
            kernel.oops(e);
        } finally {
            self.putCpu();
            lock.lock();
            try {
                t.running = false;
            } finally {
                lock.unlock();
            }
            runningWait.wakeUp();
        }
    }
}
