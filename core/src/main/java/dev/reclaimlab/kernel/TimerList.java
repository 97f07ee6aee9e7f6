package dev.reclaimlab.kernel;

/**
 * struct timer_list (kernel/time/timer.c, as in Linux 4.3): a function run once when its expiry time has
 * passed, in the timer softirq of the kernel's {@link Timers}, with preemption disabled, so it must not
 * sleep. The workqueue's mayday and idle timers are the users. Times are System.nanoTime(); a timer's
 * state is under its base's lock.
 */
public final class TimerList {
    private final Timers base;
    private final String name;
    private final Runnable fn;
    // Under base.lock: the expiry (valid while pending), whether it is pending, whether fn runs now.
    long expires;
    boolean pending;
    boolean running;

    TimerList(Timers base, String name, Runnable fn) {
        this.base = base;
        this.name = name;
        this.fn = fn;
    }

    public String name() {
        return name;
    }

    Runnable fn() {
        return fn;
    }

    /** mod_timer(timer, jiffies + delay): (re)arms the timer to fire {@code delayNanos} from now. */
    public void modTimer(long delayNanos) {
        base.modTimer(this, System.nanoTime() + Math.max(0, delayNanos));
    }

    /** timer_pending(). */
    public boolean timerPending() {
        return base.timerPending(this);
    }

    /**
     * del_timer_sync(): disarms the timer and waits until its function, if it runs now, has returned; a
     * function that re-arms its own timer is disarmed again after it returns. Sleeps: not from the
     * timer's own function and not holding a lock the function takes.
     */
    public void delTimerSync() {
        base.delTimerSync(this);
    }

    @Override
    public String toString() {
        return "timer " + name;
    }
}
