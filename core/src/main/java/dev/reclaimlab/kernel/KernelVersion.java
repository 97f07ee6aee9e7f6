package dev.reclaimlab.kernel;

import java.util.Objects;

/**
 * A Linux release a scenario models, as the kernel's own KERNEL_VERSION(a, b, 0) orders them: "2.2",
 * "3.14", "4.3", "5.3". A kernel boots as one version; each {@link Fix} says in which version its
 * behaviour landed, so a 2015 scenario never runs 2019 code by accident (DESIGN.md rule 9).
 */
public record KernelVersion(int major, int minor) implements Comparable<KernelVersion> {
    /** Linux 2.2, January 1999: kswiod and synchronous swap-out (seed 004). */
    public static final KernelVersion V2_2 = new KernelVersion(2, 2);
    /** Linux 3.14, the loop-back NFS threads of April 2014 (seeds 000 and 003). */
    public static final KernelVersion V3_14 = new KernelVersion(3, 14);
    /** Linux 4.3, the XFS-on-loop deadlock of October 2015 (seed 001). */
    public static final KernelVersion V4_3 = new KernelVersion(4, 3);
    /** Linux 5.3, the XFS ILOCK lockdep thread of August 2019 (seed 002). */
    public static final KernelVersion V5_3 = new KernelVersion(5, 3);

    public KernelVersion {
        if (major < 1 || major > 9 || minor < 0 || minor > 99) {
            throw new IllegalArgumentException("KernelVersion " + major + "." + minor + " is not a Linux release");
        }
    }

    /** "4.3" or "v4.3" (a patch level such as "4.3.1" or "-rc3" is ignored). */
    public static KernelVersion parse(String s) {
        Objects.requireNonNull(s, "kernel version");
        String t = s.trim();
        if (t.startsWith("v")) {
            t = t.substring(1);
        }
        int dash = t.indexOf('-');
        if (dash >= 0) {
            t = t.substring(0, dash);
        }
        String[] parts = t.split("\\.");
        if (parts.length < 2) {
            throw new IllegalArgumentException("kernel version '" + s + "' is not MAJOR.MINOR (e.g. 4.3)");
        }
        try {
            return new KernelVersion(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("kernel version '" + s + "' is not MAJOR.MINOR (e.g. 4.3)");
        }
    }

    /** Whether this release already has what landed in {@code v}. */
    public boolean atLeast(KernelVersion v) {
        return compareTo(v) >= 0;
    }

    @Override
    public int compareTo(KernelVersion o) {
        return major != o.major ? Integer.compare(major, o.major) : Integer.compare(minor, o.minor);
    }

    @Override
    public String toString() {
        return major + "." + minor;
    }
}
