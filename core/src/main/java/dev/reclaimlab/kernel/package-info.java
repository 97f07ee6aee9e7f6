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
 */
package dev.reclaimlab.kernel;
