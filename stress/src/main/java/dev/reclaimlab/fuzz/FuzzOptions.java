package dev.reclaimlab.fuzz;

import java.nio.file.Path;

/**
 * What one fuzz run does: {@code --calls N} (default 100000), {@code --seed S} (default 1),
 * {@code --hang-seconds T} (a call that takes longer is a hang, default 60), {@code --crash-at N} and
 * {@code --hang-at N} (self-tests: crash the child JVM or hang it at call N), {@code --per-op} (print the
 * outcome of every operation), and, for the child, {@code --log FILE} (the call log).
 */
public record FuzzOptions(long calls, long seed, int hangSeconds, long crashAt, long hangAt, boolean perOp,
        Path callLog) {

    public static FuzzOptions defaults() {
        return new FuzzOptions(100_000, 1, 60, 0, 0, false, null);
    }

    public FuzzOptions withCalls(long n) {
        return new FuzzOptions(n, seed, hangSeconds, crashAt, hangAt, perOp, callLog);
    }

    public FuzzOptions withSeed(long s) {
        return new FuzzOptions(calls, s, hangSeconds, crashAt, hangAt, perOp, callLog);
    }

    public FuzzOptions withHangSeconds(int t) {
        return new FuzzOptions(calls, seed, t, crashAt, hangAt, perOp, callLog);
    }

    public FuzzOptions withCrashAt(long n) {
        return new FuzzOptions(calls, seed, hangSeconds, n, hangAt, perOp, callLog);
    }

    public FuzzOptions withHangAt(long n) {
        return new FuzzOptions(calls, seed, hangSeconds, crashAt, n, perOp, callLog);
    }

    FuzzOptions withCallLog(Path p) {
        return new FuzzOptions(calls, seed, hangSeconds, crashAt, hangAt, perOp, p);
    }

    /** The child's command line for these options. */
    String[] childArgs() {
        return new String[] {"--calls", Long.toString(calls), "--seed", Long.toString(seed), "--crash-at",
            Long.toString(crashAt), "--hang-at", Long.toString(hangAt), "--log", callLog.toString()};
    }

    /** Parses the command line; throws IllegalArgumentException with the usage for anything else. */
    public static FuzzOptions parse(String[] args) {
        FuzzOptions o = defaults();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--per-op")) {
                o = new FuzzOptions(o.calls, o.seed, o.hangSeconds, o.crashAt, o.hangAt, true, o.callLog);
                continue;
            }
            if (i + 1 >= args.length) {
                throw usage("missing value for " + a);
            }
            String v = args[++i];
            try {
                switch (a) {
                    case "--calls":
                        o = o.withCalls(positive(Long.parseLong(v), a));
                        break;
                    case "--seed":
                        o = o.withSeed(Long.parseLong(v));
                        break;
                    case "--hang-seconds":
                        o = o.withHangSeconds((int) positive(Integer.parseInt(v), a));
                        break;
                    case "--crash-at":
                        o = o.withCrashAt(Long.parseLong(v));
                        break;
                    case "--hang-at":
                        o = o.withHangAt(Long.parseLong(v));
                        break;
                    case "--log":
                        o = o.withCallLog(Path.of(v));
                        break;
                    default:
                        throw usage("unknown option " + a);
                }
            } catch (NumberFormatException e) {
                throw usage(a + " takes a number, not '" + v + "'");
            }
        }
        return o;
    }

    private static long positive(long v, String what) {
        if (v <= 0) {
            throw usage(what + " must be positive");
        }
        return v;
    }

    static IllegalArgumentException usage(String why) {
        return new IllegalArgumentException(why + "\nusage: Fuzz [--calls N] [--seed S] [--hang-seconds T]"
                + " [--per-op] [--crash-at N] [--hang-at N]");
    }
}
