/**
 * init/, kernel/ and kernel/sched/ in miniature: the {@link dev.reclaimlab.kernel.Kernel} instance, its
 * tasks, emulated CPUs, kthreads, workqueues, printk, the release it behaves as
 * ({@link dev.reclaimlab.kernel.KernelVersion}) and the declared {@link dev.reclaimlab.kernel.Fix}es.
 *
 * <p>Conventions. Nothing is global but the current-task thread-local and the static declarations of
 * fixes and lock classes. A task's flags are written only by the task itself. Holding an emulated CPU is
 * preempt_disable(): no sleeping until the matching putCpu(). A task that ends holding a CPU gives it
 * back ("exited with preempt_count"). Errors are negative {@link dev.reclaimlab.kernel.Errno} values
 * where the kernel returns them; misuse of an API throws, naming the object and the reason.
 *
 * <p>Workqueues (Linux 4.3's kernel/workqueue.c): a worker pool's state is under its pool lock, which nests
 * outside wq_mayday_lock and the timer base's lock; counters the scheduler hook and the watchdog read
 * without it are volatile. A worker runs works as itself. A wait on a work never copies its wakers: it
 * declares the {@link dev.reclaimlab.kernel.WorkStruct}, which says at read time who can run or finish it.
 * Timer functions run in the timer softirq with preemption disabled.
 */
package dev.reclaimlab.kernel;
