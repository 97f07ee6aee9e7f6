package dev.reclaimlab.cli.harness;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Measures a campaign: wall clock, this process's CPU (OperatingSystemMXBean), the CPU of child JVMs it
 * has reaped (cutime + cstime of /proc/self/stat, Linux only; zero elsewhere) and the calling thread's own
 * CPU (ThreadMXBean).
 */
final class Meter {
    /** USER_HZ, which /proc reports times in: 100 on every Linux ABI. */
    private static final double USER_HZ = 100;

    private final long wall0 = System.nanoTime();
    private final long cpu0 = processCpuNanos();
    private final long children0 = childrenCpuNanos();
    private final long thread0 = threadCpuNanos();

    HarnessFigures figures(String shard, int jobs, boolean fork, int runs, double meanRunSeconds) {
        long wall = System.nanoTime() - wall0;
        long cpu = processCpuNanos() - cpu0 + childrenCpuNanos() - children0;
        int cores = Runtime.getRuntime().availableProcessors();
        double minutes = wall / 60e9;
        return new HarnessFigures(shard, jobs, fork, cores, runs, wall / 1_000_000,
                round(minutes > 0 ? runs / minutes : 0), round(runs > 0 ? cpu / 1e9 / runs : 0),
                round(wall > 0 ? (double) cpu / wall / cores : 0), (threadCpuNanos() - thread0) / 1_000_000,
                round(meanRunSeconds), System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }

    static long processCpuNanos() {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            long t = sun.getProcessCpuTime();
            return t < 0 ? 0 : t;
        }
        return 0;
    }

    private static long threadCpuNanos() {
        ThreadMXBean t = ManagementFactory.getThreadMXBean();
        return t.isCurrentThreadCpuTimeSupported() ? t.getCurrentThreadCpuTime() : 0;
    }

    /** cutime + cstime: CPU of waited-for children, the forked runs. */
    static long childrenCpuNanos() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            // comm may hold spaces and parentheses: fields count from the last ')'.
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
            // after comm, field 3 (state) is f[0]; cutime and cstime are fields 16 and 17.
            return (long) ((Long.parseLong(f[13]) + Long.parseLong(f[14])) / USER_HZ * 1e9);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
