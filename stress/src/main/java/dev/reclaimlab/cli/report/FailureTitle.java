package dev.reclaimlab.cli.report;

import dev.reclaimlab.cli.json.CycleTask;
import dev.reclaimlab.cli.json.RunRecord;
import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * syzkaller-style titles that identify a failure across runs, so a thousand runs of one bug read as one
 * line with the seeds that hit it: "deadlock: kloopd1 -> kloopd1 -> xfs-cil/loop1 -> kloopd1" for a proven
 * cycle (task names without pids, rotated to a canonical start), "INFO: task hung in xfsLogForce",
 * "possible deadlock in xfsIlock". As syzkaller's report parser does, the guilty frame is the innermost one
 * that is not the scheduler or a sleeping primitive.
 */
public final class FailureTitle {
    /** What kind of report a title comes from; each corresponds to the outcome it produces. */
    public enum Kind { DEADLOCK, HUNG_TASK, STALL, LOCKDEP, ERROR }

    public record Title(String title, Kind kind) {
    }

    /** Files of sleeping code outside the locking package: the scheduler and the page wait table. */
    private static final Set<String> SLEEPERS = Set.of("Task", "PageWait");
    private static final String LOCKING = "dev.reclaimlab.locking.";
    private static final Map<String, Boolean> PRIMITIVE = new ConcurrentHashMap<>();
    private static final int MAX_ERROR_TITLE = 120;

    private FailureTitle() {
    }

    /** Every distinct failure a run reported: its watchdog report, each lockdep report, its first error. */
    public static List<Title> of(RunRecord r) {
        Set<Title> titles = new LinkedHashSet<>();
        if ("DEADLOCK".equals(r.watchdog()) && !r.cycle().isEmpty()) {
            titles.add(new Title(deadlock(r.cycle()), Kind.DEADLOCK));
        } else if ("HUNG_TASK".equals(r.watchdog())) {
            titles.add(new Title("INFO: task hung in " + guiltyFrame(callTrace(r.watchdogText())), Kind.HUNG_TASK));
        } else if ("STALL".equals(r.watchdog())) {
            titles.add(new Title("INFO: stall in " + guiltyFrame(callTrace(r.watchdogText())), Kind.STALL));
        }
        for (JsonNode l : r.lockdep()) {
            titles.add(new Title(lockdep(l), Kind.LOCKDEP));
        }
        if (!r.errors().isEmpty()) {
            titles.add(new Title(error(r.errors().get(0)), Kind.ERROR));
        }
        return List.copyOf(titles);
    }

    /** "deadlock: A -> B -> A", starting at the rotation whose names sort first, so any start gives one title. */
    static String deadlock(List<CycleTask> cycle) {
        List<String> names = cycle.stream().map(t -> CycleTask.comm(t.task())).toList();
        List<String> best = null;
        for (int i = 0; i < names.size(); i++) {
            List<String> rot = new ArrayList<>(names.subList(i, names.size()));
            rot.addAll(names.subList(0, i));
            if (best == null || compare(rot, best) < 0) {
                best = rot;
            }
        }
        return "deadlock: " + String.join(" -> ", best) + " -> " + best.get(0);
    }

    static String lockdep(JsonNode report) {
        String type = report.path("type").asString("");
        String where = guiltyFrame(strings(report.path("stack")));
        return "bad_unlock".equals(type) ? "WARNING: bad unlock balance in " + where : "possible deadlock in " + where;
    }

    /** The first error with numbers masked, so "read 4096 bytes at 81920" runs are one failure. */
    static String error(String e) {
        String t = e.replaceAll("0x[0-9a-fA-F]+", "ADDR").replaceAll("(?<![A-Za-z])\\d+", "N").strip();
        return "ERROR: " + (t.length() > MAX_ERROR_TITLE ? t.substring(0, MAX_ERROR_TITLE) + "..." : t);
    }

    /**
     * The innermost frame ("xfsLogForce (XfsLog.java:177)" -> "xfsLogForce") not in the scheduler or a
     * sleeping primitive (a class of dev.reclaimlab.locking), and not a lambda.
     */
    public static String guiltyFrame(List<String> stack) {
        for (String f : stack) {
            String fn = function(f);
            if (fn.startsWith("lambda$") || isSleeper(file(f))) {
                continue;
            }
            return fn;
        }
        return stack.isEmpty() ? "unknown" : function(stack.get(0));
    }

    /** The frames after the first "Call Trace:" of a kernel-format report. */
    static List<String> callTrace(String text) {
        List<String> frames = new ArrayList<>();
        if (text == null) {
            return frames;
        }
        boolean in = false;
        for (String line : text.split("\n")) {
            if (line.strip().equals("Call Trace:")) {
                if (in) {
                    break;
                }
                in = true;
            } else if (in) {
                if (!line.startsWith(" ") || line.isBlank()) {
                    break;
                }
                frames.add(line.strip());
            }
        }
        return frames;
    }

    private static boolean isSleeper(String file) {
        return SLEEPERS.contains(file) || PRIMITIVE.computeIfAbsent(file, f -> {
            try {
                Class.forName(LOCKING + f, false, FailureTitle.class.getClassLoader());
                return true;
            } catch (ClassNotFoundException | LinkageError e) {
                return false;
            }
        });
    }

    private static String function(String frame) {
        int sp = frame.indexOf(' ');
        return sp < 0 ? frame : frame.substring(0, sp);
    }

    /** "xfsLogForce (XfsLog.java:177)" -> "XfsLog". */
    private static String file(String frame) {
        int open = frame.indexOf('(');
        int dot = frame.indexOf(".java", open);
        return open < 0 || dot < 0 ? "" : frame.substring(open + 1, dot);
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        for (JsonNode n : array) {
            out.add(n.asString());
        }
        return out;
    }

    private static int compare(List<String> a, List<String> b) {
        for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
            int c = a.get(i).compareTo(b.get(i));
            if (c != 0) {
                return c;
            }
        }
        return Integer.compare(a.size(), b.size());
    }
}
