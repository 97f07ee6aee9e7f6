package dev.reclaimlab.cli.json;

import java.util.List;

/**
 * One task of a proven wait-for cycle, as the watchdog reports it: the task ("comm:pid"), the locks it
 * holds, what it waits on and for whom ("rwsem-write &ip->i_iolock (class XFS_IOLOCK) -> kloopd1:7"), and
 * its kernel-frame stack, innermost first.
 */
public record CycleTask(String task, List<String> holds, String waitsFor, List<String> stack) {
    private static final String ARROW = " -> ";

    public CycleTask {
        holds = holds == null ? List.of() : List.copyOf(holds);
        stack = stack == null ? List.of() : List.copyOf(stack);
    }

    /** What the task sleeps on, without the task it waits for. */
    public String waitsOn() {
        int i = waitsFor == null ? -1 : waitsFor.lastIndexOf(ARROW);
        return i < 0 ? String.valueOf(waitsFor) : waitsFor.substring(0, i);
    }

    /** The task ("comm:pid") that can end the wait, or null when the report does not name one. */
    public String waitsForTask() {
        int i = waitsFor == null ? -1 : waitsFor.lastIndexOf(ARROW);
        return i < 0 ? null : waitsFor.substring(i + ARROW.length());
    }

    /** The task's name without its pid: "kloopd1:7" -> "kloopd1". */
    public static String comm(String task) {
        int i = task.lastIndexOf(':');
        return i > 0 && task.substring(i + 1).chars().allMatch(Character::isDigit) ? task.substring(0, i) : task;
    }
}
