package dev.reclaimlab.locking;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Java stacks trimmed to kernel frames (dev.reclaimlab.*), printed as the kernel prints a call trace:
 * {@code  xfsFileIterRead (XfsFile.java:123)}. Lockdep's own bookkeeping frames are dropped.
 */
public final class KernelStack {
    private static final String KERNEL_PACKAGE = "dev.reclaimlab.";
    private static final String LOCKING = "dev.reclaimlab.locking.";
    /** Lockdep's bookkeeping: not part of the call path a reader wants to see. */
    private static final Set<String> INTERNAL = Set.of(
        "dev.reclaimlab.locking.KernelStack", "dev.reclaimlab.locking.WaitRecord",
        "dev.reclaimlab.locking.HeldLocks", "dev.reclaimlab.locking.LockdepGraph",
        "dev.reclaimlab.locking.Lockdep", "dev.reclaimlab.locking.LockdepReports",
        "dev.reclaimlab.locking.ReclaimFsUsage", "dev.reclaimlab.locking.LockdepVerdicts");
    /** The lock primitives: the function that calls one of these is a lock's acquire site (_RET_IP_). */
    private static final Set<String> PRIMITIVES = Set.of(
        "dev.reclaimlab.locking.Mutex", "dev.reclaimlab.locking.RwSemaphore", "dev.reclaimlab.locking.SpinLock",
        "dev.reclaimlab.locking.RawSpinLock", "dev.reclaimlab.locking.Sleep");

    private KernelStack() {
    }

    /** The calling thread's kernel frames. */
    public static List<String> current() {
        return trim(new Throwable().getStackTrace());
    }

    /** Another thread's kernel frames (racy, as /proc/PID/stack). */
    public static List<String> of(Thread t) {
        return trim(t.getStackTrace());
    }

    public static List<String> trim(StackTraceElement[] frames) {
        List<String> out = new ArrayList<>();
        for (StackTraceElement f : frames) {
            if (kernelFrame(f)) {
                out.add(format(f));
            }
        }
        return List.copyOf(out);
    }

    /**
     * The frame that called into the lock primitive or lockdep on the calling thread: what the kernel prints
     * as a lock's acquire ip ("at: xfs_ilock+0x..."); null if there is none.
     */
    static String caller() {
        for (StackTraceElement f : new Throwable().getStackTrace()) {
            if (kernelFrame(f) && !(f.getClassName().startsWith(LOCKING) && PRIMITIVES.contains(f.getClassName()))) {
                return format(f);
            }
        }
        return null;
    }

    private static boolean kernelFrame(StackTraceElement f) {
        String c = f.getClassName();
        int dollar = c.indexOf('$');
        String outer = dollar < 0 ? c : c.substring(0, dollar);
        return c.startsWith(KERNEL_PACKAGE) && f.getFileName() != null && !INTERNAL.contains(outer);
    }

    private static String format(StackTraceElement f) {
        return f.getMethodName() + " (" + f.getFileName() + ":" + f.getLineNumber() + ")";
    }

    /** Appends the frames with the kernel's indentation. */
    public static void print(StringBuilder sb, List<String> trace, String indent) {
        for (String f : trace) {
            sb.append(indent).append(f).append('\n');
        }
    }
}
