package dev.reclaimlab.fuzz;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * The fuzz's parent and main class: starts {@link FuzzChild} in a child JVM with the same class path,
 * watches its progress through the call log, and reports the outcome classes, the first findings, the
 * integrity checks, and, if the child died or stopped making calls, the call it was in. Exit status 0
 * for a clean run, 1 for findings, 2 for bad arguments.
 *
 * <pre>
 * java -cp stress/target/reclaimlab.jar dev.reclaimlab.fuzz.Fuzz --calls 1000000 --seed 1
 * </pre>
 */
public final class Fuzz {
    private static final String[] JVM_ARGS = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
        "--add-opens", "java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx768m", "-XX:+UseSerialGC"};

    private Fuzz() {
    }

    /** What the parent saw. {@code died} is CRASH or HANG when the child did not finish, else null. */
    public record Result(FuzzStats stats, Outcome died, CallLog.Entry lastCall, int exitCode, String detail,
            long wallNanos, Path workDir) {
        public boolean clean() {
            return died == null && exitCode == 0 && stats.bad() == 0 && stats.integrityOk
                    && !stats.integrity.isEmpty();
        }

        public long count(Outcome o) {
            return o == died ? 1 : stats.count(o);
        }

        public List<String> integrity() {
            return stats.integrity;
        }

        public List<String> findings() {
            return stats.examples;
        }

        /** Removes the call log and crash report a run with findings kept. */
        public void discard() {
            if (Files.exists(workDir)) {
                deleteDir(workDir);
            }
        }
    }

    public static void main(String[] args) {
        FuzzOptions o;
        try {
            o = FuzzOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        Result res = run(o);
        print(res, o, System.out);
        System.exit(res.clean() ? 0 : 1);
    }

    /** Runs one fuzz in a child JVM and waits for it. */
    public static Result run(FuzzOptions opts) {
        Path dir;
        try {
            dir = Files.createTempDirectory("reclaimlab-fuzz");
        } catch (IOException e) {
            throw new UncheckedIOException("fuzz: cannot make a working directory", e);
        }
        FuzzOptions o = opts.withCallLog(dir.resolve("calls.log"));
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(JVM_ARGS));
        cmd.add("-XX:ErrorFile=" + dir.resolve("hs_err_pid%p.log"));
        cmd.add("-cp");
        cmd.add(absoluteClassPath());
        cmd.add(FuzzChild.class.getName());
        cmd.addAll(List.of(o.childArgs()));
        long t0 = System.nanoTime();
        Process p;
        try {
            p = new ProcessBuilder(cmd).directory(dir.toFile())
                    .redirectError(dir.resolve("child.err").toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException("fuzz: cannot start the child JVM " + cmd, e);
        }
        FuzzStats stats = new FuzzStats();
        AtomicLong progress = new AtomicLong(-1);
        AtomicLong progressAt = new AtomicLong(System.nanoTime());
        List<String> aborts = new ArrayList<>();
        Thread reader = new Thread(() -> readChild(p, stats, progress, progressAt, aborts), "fuzz-reader");
        reader.setDaemon(true);
        reader.start();
        Outcome died = null;
        try {
            while (!p.waitFor(200, TimeUnit.MILLISECONDS)) {
                long idle = System.nanoTime() - progressAt.get();
                if (idle > TimeUnit.SECONDS.toNanos(o.hangSeconds())) {
                    died = Outcome.HANG;
                    p.destroyForcibly();
                    p.waitFor();
                    break;
                }
            }
            reader.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("fuzz: interrupted", e);
        }
        int exit = p.exitValue();
        boolean done = stats.calls > 0;
        if (died == null && (!done || exit != 0)) {
            died = aborts.isEmpty() ? Outcome.CRASH : null;
        }
        String detail = describeEnd(dir, exit, aborts);
        Result res = new Result(stats, died, died == null && done ? null : CallLog.read(o.callLog()), exit, detail,
                System.nanoTime() - t0, dir);
        if (res.clean()) {
            deleteDir(dir);
        }
        return res;
    }

    /** A clean run leaves nothing behind; one with findings keeps its call log and crash report. */
    static void deleteDir(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            System.err.println("fuzz: could not remove " + dir + ": " + e);
        }
    }

    /** This JVM's class path with every entry absolute: the child runs in its own working directory. */
    static String absoluteClassPath() {
        StringBuilder sb = new StringBuilder();
        for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            if (e.isEmpty()) {
                continue;
            }
            if (sb.length() > 0) {
                sb.append(java.io.File.pathSeparator);
            }
            sb.append(Path.of(e).toAbsolutePath());
        }
        return sb.toString();
    }

    private static void readChild(Process p, FuzzStats stats, AtomicLong progress, AtomicLong progressAt,
            List<String> aborts) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("FUZZ-PROGRESS ")) {
                    long n = Long.parseLong(line.substring(14).trim());
                    if (n != progress.getAndSet(n)) {
                        progressAt.set(System.nanoTime());
                    }
                } else if (line.startsWith("FUZZ-ABORT ")) {
                    aborts.add(line.substring(11));
                } else {
                    stats.parse(line);
                }
            }
        } catch (IOException e) {
            aborts.add("reading the child: " + e);
        }
    }

    /** The exit status, the child's own abort, and the head of the JVM's crash report, if any. */
    private static String describeEnd(Path dir, int exit, List<String> aborts) {
        StringBuilder sb = new StringBuilder("child exit status " + exit + "; call log and reports in " + dir);
        for (String a : aborts) {
            sb.append("; aborted: ").append(a);
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(x -> x.getFileName().toString().startsWith("hs_err")).toList()) {
                List<String> lines = Files.readAllLines(f, StandardCharsets.ISO_8859_1);
                sb.append("; ").append(f).append(":");
                lines.stream().filter(l -> l.startsWith("#") && l.length() > 2).limit(8)
                        .forEach(l -> sb.append("\n  ").append(l));
            }
            Path err = dir.resolve("child.err");
            if (Files.exists(err) && Files.size(err) > 0) {
                List<String> lines = Files.readAllLines(err, StandardCharsets.UTF_8);
                sb.append("; stderr (").append(err).append("):");
                lines.stream().limit(10).forEach(l -> sb.append("\n  ").append(l));
            }
        } catch (IOException e) {
            sb.append("; ").append(e);
        }
        return sb.toString();
    }

    /** The report a person reads. */
    public static void print(Result res, FuzzOptions o, PrintStream out) {
        FuzzStats s = res.stats();
        double secs = s.nanos / 1e9;
        out.printf("reclaimlab fuzz: seed %d, %d calls in %.1f s (%.0f calls/s in the child), %d failures injected,"
                + " %s%n", o.seed(), s.calls, secs, secs > 0 ? s.calls / secs : 0.0, s.injected,
                res.died() == null ? "child finished" : "child " + res.died());
        out.printf("%-9s %10s  %s%n", "outcome", "calls", "meaning");
        for (Outcome x : Outcome.values()) {
            out.printf("%-9s %10d  %s%n", x, res.count(x), x.meaning());
        }
        if (res.died() != null) {
            out.println(res.died() + " in call " + (res.lastCall() == null ? "?" : res.lastCall().call() + ": "
                    + res.lastCall().description()));
            out.println(res.detail());
        } else if (res.exitCode() != 0) {
            out.println(res.detail());
        }
        for (String f : s.examples) {
            out.println("finding: " + f);
        }
        for (String i : s.integrity) {
            out.println("integrity " + i);
        }
        if (o.perOp()) {
            out.printf("%-40s %10s  %s%n", "operation", "us/call", "outcomes");
            for (Map.Entry<String, EnumMap<Outcome, Long>> e : s.perOp.entrySet()) {
                long n = e.getValue().values().stream().mapToLong(Long::longValue).sum();
                out.printf("%-40s %10.1f  %s%n", e.getKey(), s.perOpNanos.getOrDefault(e.getKey(), 0L) / 1e3 / n,
                        e.getValue());
            }
        }
        out.println(res.clean() ? "CLEAN: no crash, no hang, no internal exception, no bad input accepted,"
                + " integrity holds" : "FINDINGS: see above");
    }
}
