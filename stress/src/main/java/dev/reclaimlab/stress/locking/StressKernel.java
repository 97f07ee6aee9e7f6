package dev.reclaimlab.stress.locking;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelConfig;
import dev.reclaimlab.kernel.Task;

/**
 * The one kernel each jcstress fork shares: jcstress never closes @State objects, so a kernel per state
 * would leak; one per JVM with khungtaskd off (no thread to leave behind) and no allocator use.
 */
final class StressKernel {
    static final Kernel KERNEL = Kernel.boot(KernelConfig.builder().memory("8m").watchdog(false).build());

    private StressKernel() {
    }

    /** The calling actor thread's task, attached on first use. */
    static Task current() {
        return KERNEL.currentTask();
    }
}
