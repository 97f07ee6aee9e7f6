package dev.reclaimlab.kernel;

import java.util.Objects;

/**
 * A Linux release a scenario models, as the kernel's own KERNEL_VERSION(a, b, c) orders them: "2.2.1",
 * "3.14", "4.3", "5.3". The sublevel matters where fixes landed in stable point releases (2.2.2's kpiod);
 * elsewhere it is 0. A kernel boots as one version; each {@link Fix} says in which version its behaviour
 * landed, so a 2015 scenario never runs 2019 code by accident (DESIGN.md rule 9).
 */
public record KernelVersion(int major, int minor, int sublevel) implements Comparable<KernelVersion> {
    /** Linux 2.2.1, January 1999: synchronous swap-out under lock_super over nbd (seed 004). */
    public static final KernelVersion V2_2 = new KernelVersion(2, 2, 1);
    /** Linux 3.14, the loop-back NFS threads of April 2014 (seeds 000 and 003). */
    public static final KernelVersion V3_14 = new KernelVersion(3, 14);
    /** Linux 4.3, the XFS-on-loop deadlock of October 2015 (seed 001). */
    public static final KernelVersion V4_3 = new KernelVersion(4, 3);
    /** Linux 5.3, the XFS ILOCK lockdep thread of August 2019 (seed 002). */
    public static final KernelVersion V5_3 = new KernelVersion(5, 3);

    public KernelVersion {
        if (major < 1 || major > 9 || minor < 0 || minor > 99 || sublevel < 0 || sublevel > 255) {
            throw new IllegalArgumentException("KernelVersion " + major + "." + minor + "." + sublevel
                    + " is not a Linux release");
        }
    }

    /** MAJOR.MINOR.0. */
    public KernelVersion(int major, int minor) {
        this(major, minor, 0);
    }

    /** "4.3", "v4.3", "2.2.1" (an "-rc3" or "-pre2" suffix is ignored). */
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
        if (parts.length < 2 || parts.length > 3) {
            throw new IllegalArgumentException("kernel version '" + s + "' is not MAJOR.MINOR[.SUBLEVEL] (e.g. 4.3)");
        }
        try {
            return new KernelVersion(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]),
                    parts.length == 3 ? Integer.parseInt(parts[2]) : 0);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("kernel version '" + s + "' is not MAJOR.MINOR[.SUBLEVEL] (e.g. 4.3)");
        }
    }

    /** Whether this release already has what landed in {@code v}. */
    public boolean atLeast(KernelVersion v) {
        return compareTo(v) >= 0;
    }

    @Override
    public int compareTo(KernelVersion o) {
        if (major != o.major) {
            return Integer.compare(major, o.major);
        }
        return minor != o.minor ? Integer.compare(minor, o.minor) : Integer.compare(sublevel, o.sublevel);
    }

    /** "4.3", or "2.2.1" when the sublevel is not 0. */
    @Override
    public String toString() {
        return sublevel == 0 ? major + "." + minor : major + "." + minor + "." + sublevel;
    }
}
