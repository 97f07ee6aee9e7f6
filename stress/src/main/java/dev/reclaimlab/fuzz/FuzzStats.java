package dev.reclaimlab.fuzz;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Counts of outcomes, overall and per operation, and the first examples of each bad outcome. */
final class FuzzStats {
    static final int MAX_EXAMPLES = 20;

    final EnumMap<Outcome, Long> outcomes = new EnumMap<>(Outcome.class);
    final Map<String, EnumMap<Outcome, Long>> perOp = new TreeMap<>();
    final Map<String, Long> perOpNanos = new TreeMap<>();
    final List<String> examples = new ArrayList<>();
    final List<String> integrity = new ArrayList<>();
    boolean integrityOk = true;
    long injected;
    long calls;
    long nanos;

    FuzzStats() {
        for (Outcome o : Outcome.values()) {
            outcomes.put(o, 0L);
        }
    }

    void record(String op, Outcome o, long nanos) {
        String name = op.replace(' ', '_');
        outcomes.merge(o, 1L, Long::sum);
        perOp.computeIfAbsent(name, x -> new EnumMap<>(Outcome.class)).merge(o, 1L, Long::sum);
        perOpNanos.merge(name, nanos, Long::sum);
    }

    void example(Outcome o, long call, String desc, String what) {
        if (examples.size() < MAX_EXAMPLES) {
            examples.add(o + " call " + call + " " + oneLine(desc) + " :: " + oneLine(what));
        }
    }

    void integrity(boolean ok, String what) {
        integrityOk &= ok;
        integrity.add((ok ? "OK " : "FAIL ") + oneLine(what));
    }

    long bad() {
        long n = 0;
        for (Map.Entry<Outcome, Long> e : outcomes.entrySet()) {
            if (e.getKey().bad()) {
                n += e.getValue();
            }
        }
        return n;
    }

    long count(Outcome o) {
        return outcomes.getOrDefault(o, 0L);
    }

    static String oneLine(String s) {
        return s == null ? "" : s.replace('\n', ' ').replace('\r', ' ');
    }

    /** The child's report, one fact a line, for the parent to parse. */
    void write(PrintStream out) {
        for (Map.Entry<Outcome, Long> e : outcomes.entrySet()) {
            out.println("FUZZ-OUTCOME " + e.getKey() + " " + e.getValue());
        }
        for (Map.Entry<String, EnumMap<Outcome, Long>> e : perOp.entrySet()) {
            for (Map.Entry<Outcome, Long> c : e.getValue().entrySet()) {
                out.println("FUZZ-OP " + e.getKey() + " " + c.getKey() + " " + c.getValue());
            }
        }
        for (Map.Entry<String, Long> e : perOpNanos.entrySet()) {
            out.println("FUZZ-NANOS " + e.getKey() + " " + e.getValue());
        }
        for (String x : examples) {
            out.println("FUZZ-BAD " + x);
        }
        for (String x : integrity) {
            out.println("FUZZ-INTEGRITY " + x);
        }
        out.println("FUZZ-INJECTED " + injected);
        out.println("FUZZ-DONE " + calls + " " + nanos);
        out.flush();
    }

    /** Parses one line of {@link #write}; false for a line that is not the report's. */
    boolean parse(String line) {
        String[] f = line.split(" ", 2);
        if (f.length < 2) {
            return false;
        }
        String rest = f[1];
        switch (f[0]) {
            case "FUZZ-OUTCOME": {
                String[] g = rest.split(" ");
                outcomes.merge(Outcome.valueOf(g[0]), Long.parseLong(g[1]), Long::sum);
                return true;
            }
            case "FUZZ-OP": {
                String[] g = rest.split(" ");
                perOp.computeIfAbsent(g[0], x -> new EnumMap<>(Outcome.class)).merge(Outcome.valueOf(g[1]),
                        Long.parseLong(g[2]), Long::sum);
                return true;
            }
            case "FUZZ-NANOS": {
                String[] g = rest.split(" ");
                perOpNanos.merge(g[0], Long.parseLong(g[1]), Long::sum);
                return true;
            }
            case "FUZZ-BAD":
                examples.add(rest);
                return true;
            case "FUZZ-INTEGRITY":
                integrityOk &= rest.startsWith("OK ");
                integrity.add(rest);
                return true;
            case "FUZZ-INJECTED":
                injected = Long.parseLong(rest.trim());
                return true;
            case "FUZZ-DONE": {
                String[] g = rest.split(" ");
                calls = Long.parseLong(g[0]);
                nanos = Long.parseLong(g[1]);
                return true;
            }
            default:
                return false;
        }
    }
}
