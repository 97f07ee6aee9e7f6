package dev.reclaimlab.cli.harness;

/**
 * How fast the harness itself went: wall time, runs per minute, CPU per run (this JVM's and its children's
 * CPU time over the campaign, divided by the runs), how busy the machine's cores were, and the harness
 * thread's own CPU (writing records and progress: the harness's overhead).
 */
public record HarnessFigures(String shard, int jobs, boolean fork, int cores, int runs, long wallMs,
                             double runsPerMinute, double cpuSecondsPerRun, double coreUtilisation,
                             long harnessThreadCpuMs, double meanRunSeconds, String java) {
}
