package dev.reclaimlab.fs;

import dev.reclaimlab.kernel.Errno;

/** A failed VFS call made through {@link Vfs}: the errno the syscall would have returned, and what failed. */
public final class VfsException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int errno;

    public VfsException(int err, String what) {
        super(what + ": " + Errno.name(err));
        this.errno = Math.abs(err);
    }

    /** The positive errno, e.g. {@link Errno#ENOENT}. */
    public int errno() {
        return errno;
    }
}
