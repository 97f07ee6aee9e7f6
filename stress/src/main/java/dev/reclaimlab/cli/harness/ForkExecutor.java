package dev.reclaimlab.cli.harness;

import dev.reclaimlab.cli.campaign.RunSpec;
import dev.reclaimlab.cli.json.JsonCodec;
import dev.reclaimlab.cli.json.RunRecord;
import dev.reclaimlab.cli.json.RunRecords;
import tools.jackson.core.JacksonException;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Runs each run in a child JVM of its own ({@code reclaimlab run ... --json FILE}), for isolation: a run
 * that corrupts the heap, leaks native memory or crashes the JVM takes only itself down. The child's output
 * is the run's log in {@code logs/}; a child that crashes, hangs past its deadline or writes no JSON is
 * that run's ERROR.
 */
public final class ForkExecutor implements RunExecutor {
    /** Time a child may take beyond its run: JVM start, kernel close, writing the JSON. */
    static final long GRACE_SECONDS = 60;

    private final Child child;
    private final Path logs;
    private final Set<Process> live = ConcurrentHashMap.newKeySet();

    /** How to start a child: the java binary, its JVM flags, the class path and the main class. */
    public record Child(String java, List<String> jvmArgs, String classPath, String mainClass) {
        public Child {
            jvmArgs = List.copyOf(jvmArgs);
        }

        /**
         * This JVM's own java, its --add-exports/--add-opens flags (every reclaimlab JVM needs
         * jdk.internal.misc), the same class path (the reclaimlab jar), and {@code mainClass}.
         */
        public static Child likeThisJvm(String mainClass) {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            List<String> flags = new ArrayList<>();
            List<String> in = ManagementFactory.getRuntimeMXBean().getInputArguments();
            for (int i = 0; i < in.size(); i++) {
                String a = in.get(i);
                if (a.startsWith("--add-exports") || a.startsWith("--add-opens")) {
                    flags.add(a);
                    if (!a.contains("=") && i + 1 < in.size()) {
                        flags.add(in.get(++i));
                    }
                }
            }
            if (!String.join(" ", flags).contains("java.base/jdk.internal.misc=ALL-UNNAMED")) {
                flags.addAll(List.of("--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
                        "--add-opens", "java.base/jdk.internal.misc=ALL-UNNAMED"));
            }
            return new Child(java, flags, System.getProperty("java.class.path"), mainClass);
        }

        List<String> command(RunSpec s, Path json) {
            List<String> c = new ArrayList<>();
            c.add(java);
            c.addAll(jvmArgs);
            c.addAll(List.of("-cp", classPath, mainClass, "run", s.scenario(), "--variant", s.variant(), "--seed",
                    Long.toString(s.seed()), "--seconds", Long.toString(s.seconds()), "--memory", s.memory(),
                    "--json", json.toString()));
            return c;
        }
    }

    public ForkExecutor(Child child, Path logs) throws IOException {
        this.child = child;
        this.logs = Files.createDirectories(logs);
    }

    @Override
    public RunRecord run(RunSpec spec) throws InterruptedException {
        long t0 = System.nanoTime();
        String name = spec.key().replaceAll("[^A-Za-z0-9._-]+", "_");
        Path log = logs.resolve(name + ".log");
        Path json = logs.resolve(name + ".json");
        Process p;
        try {
            Files.deleteIfExists(json);
            p = new ProcessBuilder(child.command(spec, json)).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
        } catch (IOException e) {
            return RunRecords.failed(spec, 0, "fork: cannot start a child JVM: " + e.getMessage(), "");
        }
        live.add(p);
        try {
            if (!p.waitFor(spec.seconds() + GRACE_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                return RunRecords.failed(spec, ms(t0), "fork: child JVM still running " + GRACE_SECONDS
                        + " s after its run's end; killed (log: " + log + ")", tail(log));
            }
        } finally {
            live.remove(p);
        }
        int exit = p.exitValue();
        if (exit != 0 && exit != 1 || !Files.exists(json)) {
            return RunRecords.failed(spec, ms(t0), "fork: child JVM exited with status " + exit
                    + (Files.exists(json) ? "" : " and wrote no result") + " (log: " + log + ")", tail(log));
        }
        try {
            RunRecord r = JsonCodec.readRun(Files.readString(json, StandardCharsets.UTF_8));
            Files.delete(json);
            return r;
        } catch (IOException | JacksonException e) {
            return RunRecords.failed(spec, ms(t0), "fork: unreadable result " + json + ": " + e.getMessage(),
                    tail(log));
        }
    }

    @Override
    public void abort() {
        for (Process p : live) {
            p.destroyForcibly();
        }
    }

    private static long ms(long t0) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }

    /** The last line of a child's log, for the record's progress field. */
    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
        } catch (IOException e) {
            return "";
        }
    }
}
