package dev.reclaimlab.kernel;

/**
 * The errno values the emulated kernel returns, negated, as the kernel does
 * (include/uapi/asm-generic/errno-base.h and errno.h; the values are the same in every release modelled).
 */
public final class Errno {
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int ENOTDIR = 20;
    public static final int EISDIR = 21;
    public static final int EINVAL = 22;
    public static final int EFBIG = 27;
    public static final int ENOSPC = 28;
    public static final int EROFS = 30;
    public static final int ENAMETOOLONG = 36;
    public static final int ENOSYS = 38;
    public static final int ENOTEMPTY = 39;
    public static final int ETIMEDOUT = 110;
    /** A file handle the server no longer knows (NFS3ERR_STALE). */
    public static final int ESTALE = 116;

    private static final int[] VALUES = {EPERM, ENOENT, EINTR, EIO, EBADF, EAGAIN, ENOMEM, EFAULT, EBUSY, EEXIST,
        ENOTDIR, EISDIR, EINVAL, EFBIG, ENOSPC, EROFS, ENAMETOOLONG, ENOSYS, ENOTEMPTY, ETIMEDOUT, ESTALE};
    private static final String[] NAMES = {"EPERM", "ENOENT", "EINTR", "EIO", "EBADF", "EAGAIN", "ENOMEM", "EFAULT",
        "EBUSY", "EEXIST", "ENOTDIR", "EISDIR", "EINVAL", "EFBIG", "ENOSPC", "EROFS", "ENAMETOOLONG", "ENOSYS",
        "ENOTEMPTY", "ETIMEDOUT", "ESTALE"};

    private Errno() {
    }

    /** The kernel's name for a (positive or negative) errno, e.g. "EIO". */
    public static String name(int err) {
        int e = Math.abs(err);
        for (int i = 0; i < VALUES.length; i++) {
            if (VALUES[i] == e) {
                return NAMES[i];
            }
        }
        return "errno " + e;
    }
}
