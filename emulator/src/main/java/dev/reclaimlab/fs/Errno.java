package dev.reclaimlab.fs;

/** The errno values the VFS and filesystems return, negated, as the kernel does (include/uapi/asm-generic/errno-base.h). */
public final class Errno {
    public static final int ENOENT = 2;
    public static final int EIO = 5;
    public static final int ENOMEM = 12;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int ENOTDIR = 20;
    public static final int EISDIR = 21;
    public static final int EINVAL = 22;
    public static final int ENOSPC = 28;
    public static final int ENAMETOOLONG = 36;
    public static final int ENOTEMPTY = 39;

    private Errno() {
    }

    /** The kernel's name for a (positive or negative) errno, e.g. "EIO". */
    public static String name(int err) {
        switch (Math.abs(err)) {
            case ENOENT: return "ENOENT";
            case EIO: return "EIO";
            case ENOMEM: return "ENOMEM";
            case EBUSY: return "EBUSY";
            case EEXIST: return "EEXIST";
            case ENOTDIR: return "ENOTDIR";
            case EISDIR: return "EISDIR";
            case EINVAL: return "EINVAL";
            case ENOSPC: return "ENOSPC";
            case ENAMETOOLONG: return "ENAMETOOLONG";
            case ENOTEMPTY: return "ENOTEMPTY";
            default: return "errno " + Math.abs(err);
        }
    }
}
