package dev.reclaimlab.kernel;

/**
 * Thrown into every task of a kernel that panicked (kernel/panic.c): it unwinds blocked tasks so that
 * {@link Kernel#close()} can join every thread. An Error so that emulated code does not catch it by
 * accident with {@code catch (Exception e)}.
 */
public final class KernelPanic extends Error {
    private static final long serialVersionUID = 1L;

    public KernelPanic(String reason) {
        super("Kernel panic - not syncing: " + reason, null, false, false);
    }
}
