package dev.reclaimlab.locking;

import java.util.ArrayList;
import java.util.List;

/**
 * Java stacks trimmed to kernel frames (dev.reclaimlab.*), printed as the kernel prints a call trace:
 * {@code  xfsFileIterRead (XfsFile.java:123)}. Lockdep's own bookkeeping frames are dropped.
 */
public final class KernelStack {
    private static final String KERNEL_PACKAGE = "dev.reclaimlab.";
    private static final String[] INTERNAL = {
        "dev.reclaimlab.locking.Lockdep", "dev.reclaimlab.locking.KernelStack", "dev.reclaimlab.locking.HeldLocks",
        "dev.reclaimlab.locking.WaitRecord", "dev.reclaimlab.kernel.Task."
    };

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
            if (!c.startsWith(KERNEL_PACKAGE) || internal(c)) {
                continue;
            }
            out.add(f.getMethodName() + " (" + f.getFileName() + ":" + f.getLineNumber() + ")");
        }
        return List.copyOf(out);
    }

    private static boolean internal(String cls) {
        for (String p : INTERNAL) {
            if (cls.startsWith(p)) {
                return true;
            }
        }
        return false;
    }

    /** Appends the frames with the kernel's indentation. */
    public static void print(StringBuilder sb, List<String> trace, String indent) {
        for (String f : trace) {
            sb.append(indent).append(f).append('\n');
        }
    }
}
