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
    /** Lockdep's bookkeeping: not part of the call path a reader wants to see. */
    private static final Set<String> INTERNAL = Set.of(
        "dev.reclaimlab.locking.KernelStack", "dev.reclaimlab.locking.WaitRecord",
        "dev.reclaimlab.locking.HeldLocks", "dev.reclaimlab.locking.LockdepGraph",
        "dev.reclaimlab.locking.Lockdep.lockAcquire", "dev.reclaimlab.locking.Lockdep.lockRelease",
        "dev.reclaimlab.locking.Lockdep.lockDowngrade", "dev.reclaimlab.locking.Lockdep.validateChain",
        "dev.reclaimlab.locking.Lockdep.addReport");

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
            String c = f.getClassName();
            if (!c.startsWith(KERNEL_PACKAGE) || f.getFileName() == null || INTERNAL.contains(c)
                    || INTERNAL.contains(c + "." + f.getMethodName())) {
                continue;
            }
            out.add(f.getMethodName() + " (" + f.getFileName() + ":" + f.getLineNumber() + ")");
        }
        return List.copyOf(out);
    }

    /** Appends the frames with the kernel's indentation. */
    public static void print(StringBuilder sb, List<String> trace, String indent) {
        for (String f : trace) {
            sb.append(indent).append(f).append('\n');
        }
    }
}
