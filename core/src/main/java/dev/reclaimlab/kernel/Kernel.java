package dev.reclaimlab.kernel;

import dev.reclaimlab.locking.Lockdep;
import dev.reclaimlab.mm.Mm;
import dev.reclaimlab.watchdog.Watchdog;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * One emulated kernel (init/main.c's start_kernel() to kernel_power_off()): its memory, CPUs, tasks and
 * kernel threads. Boot with {@link #boot}, close with try-with-resources; {@link #close()} stops every
 * kthread, also after a deadlock (it panics the kernel to unwind blocked tasks), and frees every off-heap
 * byte. Many kernels can live in one JVM; nothing here is global but the current-task thread-local.
 */
public final class Kernel implements AutoCloseable {
    private static final long STOP_GRACE_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final KernelConfig config;
    private final Cpus cpus;
    private final Mm mm;
    private final Lockdep lockdep;
    private final Watchdog watchdog;
    private final Timers timers;
    private final Workqueues workqueues;
    private final FaultInjection faultInjection;
    private final AtomicInteger lastPid = new AtomicInteger();
    private final ConcurrentMap<Integer, Task> tasks = new ConcurrentHashMap<>();
    private final ConcurrentMap<Thread, Task> attached = new ConcurrentHashMap<>();
    private final ConcurrentMap<Thread, Task> byThread = new ConcurrentHashMap<>();
    private final List<Task> kthreads = new CopyOnWriteArrayList<>();
    private final List<Throwable> oopses = new CopyOnWriteArrayList<>();
    private final List<Runnable> panicNotifiers = new CopyOnWriteArrayList<>();
    private final List<Runnable> closeHooks = new CopyOnWriteArrayList<>();
    private final Printk printk = new Printk();
    private final AtomicReference<String> panicReason = new AtomicReference<>();
    private final AtomicBoolean closing = new AtomicBoolean();
    // kthreadStart() calls between their closing check and Thread.start(): close() waits them out.
    private final AtomicInteger starting = new AtomicInteger();
    private volatile boolean closed;
    private final long tickNanos;

    private Kernel(KernelConfig config) {
        this.config = config;
        this.tickNanos = Jiffies.tickNanos(config);
        this.cpus = new Cpus(config.nrCpus());
        this.lockdep = new Lockdep(this);
        this.watchdog = new Watchdog(this);
        this.mm = new Mm(this);
        this.timers = new Timers(this);
        this.workqueues = new Workqueues(this);
        this.faultInjection = new FaultInjection(this);
    }

    /** start_kernel(): sets up memory and the allocators; subsystems then add their kthreads. */
    public static Kernel boot(KernelConfig config) {
        Kernel k = new Kernel(config);
        k.mm.start();
        if (config.watchdog()) {
            k.watchdog.start();
        }
        return k;
    }

    public static Kernel boot() {
        return boot(KernelConfig.defaults());
    }

    public KernelConfig config() {
        return config;
    }

    public int nrCpus() {
        return cpus.nrCpus();
    }

    /** jiffies_to_nsecs(): a timeout the kernel writes in jiffies, in this kernel's time (see {@link Jiffies}). */
    public long jiffiesToNanos(long jiffies) {
        if (jiffies < 0) {
            throw new IllegalArgumentException("jiffies_to_nsecs: timeout " + jiffies + " is negative");
        }
        return jiffies * tickNanos;
    }

    Cpus cpus() {
        return cpus;
    }

    /** The memory-management subsystem: page allocator, slab, counters. */
    public Mm mm() {
        return mm;
    }

    /** failslab, fail_page_alloc and fail_make_request, switched at run time (debugfs). */
    public FaultInjection faultInjection() {
        return faultInjection;
    }

    /** printk(): appends to the kernel log. */
    public void printk(String text) {
        printk.printk(text);
    }

    /** dmesg: the kernel log. */
    public String dmesg() {
        return printk.dmesg();
    }

    /** The lock validator (lockdep); {@link Lockdep#enabled()} follows {@link KernelConfig#lockdep()}. */
    public Lockdep lockdep() {
        return lockdep;
    }

    /** khungtaskd and the wait-for graph; started at boot unless {@link KernelConfig#watchdog()} is off. */
    public Watchdog watchdog() {
        return watchdog;
    }

    /** The timer base: timers fire in its softirq thread. */
    public Timers timers() {
        return timers;
    }

    /** kernel/workqueue.c's state: the worker pools and their ids. */
    Workqueues workqueues() {
        return workqueues;
    }

    /** The calling thread's task in this kernel, attached on first use for threads that are not kthreads. */
    public Task currentTask() {
        Task t = Task.currentIn(this);
        return t != null ? t : attachCurrent();
    }

    private Task attachCurrent() {
        if (closing.get()) {
            throw new IllegalStateException("kernel is closed: cannot attach thread '"
                    + Thread.currentThread().getName() + "'");
        }
        Thread th = Thread.currentThread();
        Task t = attached.computeIfAbsent(th, x -> newTask(x.getName(), x, 0));
        Task.bind(t);
        return t;
    }

    private Task newTask(String comm, Thread thread, int flags) {
        int pid = lastPid.incrementAndGet();
        Task t = new Task(this, pid, comm, thread, flags, pid % cpus.nrCpus());
        tasks.put(pid, t);
        byThread.put(thread, t);
        return t;
    }

    /**
     * kthread_run(): starts a kernel thread named {@code comm} that runs {@code fn} as a task with
     * PF_KTHREAD and {@code extraFlags}. The function returns when it is done or when
     * {@link Task#kthreadShouldStop()} tells it to. An exception other than a panic is kept as an oops.
     */
    public Task kthreadRun(String comm, int extraFlags, Consumer<Task> fn) {
        Task t = kthreadCreate(comm, extraFlags, null, fn);
        if (!kthreadStart(t)) {
            throw new IllegalStateException("kernel is closed: cannot start kthread " + comm);
        }
        return t;
    }

    public Task kthreadRun(String comm, Consumer<Task> fn) {
        return kthreadRun(comm, 0, fn);
    }

    /**
     * kthread_create(): a kernel thread that does not run until {@link #kthreadStart}. close() stops
     * kthreads newest first; with {@code stopBefore} the new one takes that thread's place in the order
     * instead (it is stopped just before it), so a worker created on demand goes down with its pool, not
     * before the workload that is still using the pool.
     */
    public Task kthreadCreate(String comm, int extraFlags, Task stopBefore, Consumer<Task> fn) {
        return kthreadCreate(comm, extraFlags, stopBefore, false, fn);
    }

    /**
     * kthread_create() of a thread that must outlive every other kthread (kworkers, rescuers, ksoftirqd:
     * the kernel's never stop, and others wait for their works): close() stops it after all the rest.
     */
    Task kthreadCreateAtBoot(String comm, Consumer<Task> fn) {
        return kthreadCreate(comm, 0, null, true, fn);
    }

    private Task kthreadCreate(String comm, int extraFlags, Task stopBefore, boolean atBoot, Consumer<Task> fn) {
        if (closing.get()) {
            throw new IllegalStateException("kernel is closed: cannot start kthread " + comm);
        }
        Task[] holder = new Task[1];
        Thread th = new Thread(() -> runKthread(holder[0], fn), comm);
        th.setDaemon(true);
        Task t = newTask(comm, th, TaskFlags.PF_KTHREAD | extraFlags);
        holder[0] = t;
        int at = stopBefore == null ? -1 : kthreads.indexOf(stopBefore);
        if (atBoot) {
            kthreads.add(0, t);
        } else if (at < 0) {
            kthreads.add(t);
        } else {
            kthreads.add(at + 1, t);
        }
        return t;
    }

    /**
     * wake_up_process() of a kthread from {@link #kthreadCreate}: it starts running. False, and the task is
     * dead, if the kernel is closing.
     */
    public boolean kthreadStart(Task t) {
        starting.incrementAndGet();
        try {
            if (!closing.get()) {
                t.thread().start();
                return true;
            }
        } finally {
            starting.decrementAndGet();
        }
        t.setState(Task.TASK_DEAD);
        tasks.remove(t.pid());
        byThread.remove(t.thread(), t);
        kthreads.remove(t);
        return false;
    }

    private void runKthread(Task t, Consumer<Task> fn) {
        Task.bind(t);
        try {
            fn.accept(t);
        } catch (KernelPanic expected) {
            // Unwound by panic(): nothing more to do.
        } catch (Throwable e) {
            oopses.add(e);
        } finally {
            int pc = t.exitCpu();
            if (pc > 0) {
                printk("note: " + t.comm() + "[" + t.pid() + "] exited with preempt_count " + pc);
            }
            t.setState(Task.TASK_DEAD);
            tasks.remove(t.pid());
            byThread.remove(t.thread(), t);
        }
    }

    /** kthread_stop(): asks {@code t} to stop, wakes it, and waits for it to exit. */
    public boolean kthreadStop(Task t) {
        t.requestStop();
        boolean done = join(t.thread(), STOP_GRACE_NANOS);
        if (done) {
            kthreads.remove(t);
        }
        return done;
    }

    /** The live task that runs on {@code th}, or null. */
    public Task taskOfThread(Thread th) {
        return th == null ? null : byThread.get(th);
    }

    /** find_task_by_vpid(): the live task with {@code pid}, or null. */
    public Task findTaskByPid(int pid) {
        return tasks.get(pid);
    }

    /** Live tasks: kernel threads and attached threads. */
    public Collection<Task> tasks() {
        return Collections.unmodifiableCollection(tasks.values());
    }

    /**
     * Records an oops that did not kill its thread (a work item that threw, as the kernel's worker prints
     * the oops and carries on).
     */
    public void oops(Throwable e) {
        oopses.add(e);
    }

    /** Exceptions that killed a kernel thread or a work item (the emulator's oopses). */
    public List<Throwable> oopses() {
        return Collections.unmodifiableList(oopses);
    }

    /**
     * Runs {@code r} in {@link #close()} after every kernel thread has ended and before kernel memory is
     * freed, newest first: devices free their own storage here.
     */
    public void addCloseHook(Runnable r) {
        closeHooks.add(r);
    }

    /** Runs {@code r} when the kernel panics, before blocked tasks are woken (panic_notifier_list). */
    public void addPanicNotifier(Runnable r) {
        panicNotifiers.add(r);
    }

    /**
     * panic(): every blocked or sleeping task wakes with {@link KernelPanic}, which unwinds it. The first
     * reason wins; the kernel stays panicked until it is closed.
     */
    public void panic(String reason) {
        if (!panicReason.compareAndSet(null, reason)) {
            return;
        }
        for (Runnable r : panicNotifiers) {
            try {
                r.run();
            } catch (RuntimeException e) {
                oopses.add(e);
            }
        }
        for (Task t : tasks.values()) {
            t.wakeUpProcess();
        }
    }

    public boolean panicked() {
        return panicReason.get() != null;
    }

    public String panicReason() {
        return panicReason.get();
    }

    /** Throws {@link KernelPanic} if the kernel panicked; every wait loop calls this after waking. */
    public void checkPanic() {
        String r = panicReason.get();
        if (r != null) {
            throw new KernelPanic(r);
        }
    }

    public boolean isClosed() {
        return closed;
    }

    /**
     * Stops every kernel thread, panicking the kernel if one does not stop on its own (a deadlock), then
     * frees all memory. If a thread still cannot be stopped the memory is deliberately leaked rather than
     * freed under a running thread, and close() throws.
     */
    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        while (starting.get() != 0) {
            Thread.onSpinWait();
        }
        // kswapd first: no allocation needs it to make progress (direct reclaim does), but a pass of its own
        // reclaims into every filesystem, and one started after a filesystem's log worker or device had
        // gone would wait for their IO for ever; asked first, it ends the pass it is in while they still
        // run. Then newest first, each joined before the next is asked: a workload thread finishing its
        // last IO still has the device workers it needs, as processes die before devices go away.
        List<Task> ks = new ArrayList<>(kthreads);
        Collections.reverse(ks);
        List<Task> reclaimers = new ArrayList<>();
        for (Task t : ks) {
            if ((t.flags() & TaskFlags.PF_KSWAPD) != 0) {
                reclaimers.add(t);
            }
        }
        ks.removeAll(reclaimers);
        ks.addAll(0, reclaimers);
        long deadline = System.nanoTime() + STOP_GRACE_NANOS;
        List<Task> stuck = new ArrayList<>();
        for (int i = 0; i < ks.size(); i++) {
            Task t = ks.get(i);
            t.requestStop();
            if (!join(t.thread(), Math.max(1, deadline - System.nanoTime()))) {
                stuck.addAll(ks.subList(i, ks.size()));
                break;
            }
        }
        if (!stuck.isEmpty()) {
            panic("Kernel.close(): " + stuck.get(0) + " did not stop");
            for (Task t : stuck) {
                t.requestStop();
            }
            stuck = joinAll(stuck);
            if (!stuck.isEmpty()) {
                throw new IllegalStateException("Kernel.close(): " + stuck
                        + " still running after panic; leaking the kernel's memory rather than freeing it under them");
            }
        }
        kthreads.clear();
        List<Runnable> hooks = new ArrayList<>(closeHooks);
        Collections.reverse(hooks);
        for (Runnable r : hooks) {
            try {
                r.run();
            } catch (RuntimeException e) {
                oopses.add(e);
            }
        }
        Task closer = Task.currentIn(this);
        int taken = cpus.offlineAll(pid -> {
            Task h = tasks.get((int) pid);
            return h == null || h == closer || !h.thread().isAlive();
        });
        if (taken > 0) {
            printk("Kernel.close(): took " + taken + " CPU(s) from tasks that can no longer give them back");
        }
        closed = true;
        mm.release();
        for (Task t : attached.values()) {
            t.setState(Task.TASK_DEAD);
        }
        attached.clear();
        tasks.clear();
        byThread.clear();
    }

    private static List<Task> joinAll(List<Task> ts) {
        long deadline = System.nanoTime() + STOP_GRACE_NANOS;
        List<Task> stuck = new ArrayList<>();
        for (Task t : ts) {
            if (!join(t.thread(), Math.max(1, deadline - System.nanoTime()))) {
                stuck.add(t);
            }
        }
        return stuck;
    }

    private static boolean join(Thread th, long nanos) {
        if (th == Thread.currentThread()) {
            return false;
        }
        boolean interrupted = false;
        long deadline = System.nanoTime() + nanos;
        try {
            while (th.isAlive()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    th.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            return true;
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public String toString() {
        return "Kernel[" + config + (panicked() ? ", panicked: " + panicReason() : "") + (closed ? ", closed" : "") + "]";
    }
}
