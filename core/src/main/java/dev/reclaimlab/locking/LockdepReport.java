package dev.reclaimlab.locking;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * One lockdep splat (kernel/locking/lockdep.c print_circular_bug(), print_deadlock_bug(),
 * print_unlock_imbalance_bug()), as kernel text and as JSON. Immutable.
 */
public final class LockdepReport {
    public enum Type { CIRCULAR, RECURSIVE, BAD_UNLOCK }

    private final Type type;
    private final String signature;
    private final List<String> classes;
    private final String text;
    private final String json;

    private LockdepReport(Type type, String signature, List<String> classes, String text, String json) {
        this.type = type;
        this.signature = signature;
        this.classes = List.copyOf(classes);
        this.text = text;
        this.json = json;
    }

    public Type type() {
        return type;
    }

    /** The classes involved: for a cycle, the new lock first, then the existing chain to the held lock. */
    public List<String> classes() {
        return classes;
    }

    /** Identity for de-duplication: the type and the set of classes. */
    public String signature() {
        return signature;
    }

    public String text() {
        return text;
    }

    public String json() {
        return json;
    }

    @Override
    public String toString() {
        return text;
    }

    /**
     * A new edge prev -> next closes a cycle through the existing path {@code path} (next -> ... -> prev).
     */
    static LockdepReport circular(String task, List<String> held, LockClass prev, String prevInstance,
                                  LockClass next, String nextInstance, List<LockEdge> path, List<String> trace) {
        StringBuilder sb = new StringBuilder();
        sb.append("======================================================\n");
        sb.append("WARNING: possible circular locking dependency detected\n");
        sb.append("------------------------------------------------------\n");
        sb.append(task).append(" is trying to acquire lock:\n");
        sb.append(" (").append(next.name).append("){+.+.}, instance ").append(nextInstance).append('\n');
        sb.append("\nbut task is already holding lock:\n");
        sb.append(" (").append(prev.name).append("){+.+.}, instance ").append(prevInstance).append('\n');
        sb.append("\nwhich lock already depends on the new lock.\n\n");
        sb.append("\nthe existing dependency chain (in reverse order) is:\n");
        for (int i = path.size() - 1; i >= 0; i--) {
            LockEdge e = path.get(i);
            sb.append("\n-> #").append(i + 1).append(" (").append(e.next.name).append("):\n");
            sb.append("       [recorded by ").append(e.task).append(" taking ").append(e.next.name)
                    .append(" while holding ").append(e.prev.name).append("]\n");
            KernelStack.print(sb, e.trace, "       ");
        }
        sb.append("\n-> #0 (").append(next.name).append("):\n");
        KernelStack.print(sb, trace, "       ");
        sb.append("\nother info that might help us debug this:\n\n");
        LockClass parent = path.get(path.size() - 1).prev;
        List<String> chain = new ArrayList<>();
        chain.add(next.name);
        for (LockEdge e : path) {
            chain.add(e.next.name);
        }
        if (parent != next) {
            sb.append(" Chain exists of:\n   ").append(String.join(" --> ", chain)).append("\n\n");
        }
        sb.append(" Possible unsafe locking scenario:\n\n");
        sb.append("       CPU0                    CPU1\n");
        sb.append("       ----                    ----\n");
        sb.append("  lock(").append(prev.name).append(");\n");
        sb.append("                               lock(").append(parent.name).append(");\n");
        sb.append("                               lock(").append(prev.name).append(");\n");
        sb.append("  lock(").append(next.name).append(");\n");
        sb.append("\n *** DEADLOCK ***\n\n");
        printHeld(sb, task, held);
        sb.append("\nstack backtrace:\n");
        KernelStack.print(sb, trace, " ");

        Json j = new Json().beginObject()
                .field("type", "circular")
                .field("task", task)
                .field("acquiring", next.name)
                .field("acquiringInstance", nextInstance)
                .field("holding", prev.name)
                .field("holdingInstance", prevInstance)
                .strings("cycle", chain)
                .beginArray("chain");
        for (int i = path.size() - 1; i >= 0; i--) {
            LockEdge e = path.get(i);
            j.beginObject().field("index", i + 1).field("from", e.prev.name).field("to", e.next.name)
                    .field("recordedBy", e.task).strings("trace", e.trace).endObject();
        }
        j.beginObject().field("index", 0).field("from", prev.name).field("to", next.name)
                .field("recordedBy", task).strings("trace", trace).endObject();
        j.endArray().strings("heldLocks", held).strings("stack", trace).endObject();
        return new LockdepReport(Type.CIRCULAR, "circular:" + new TreeSet<>(chain), chain, sb.toString(),
                j.toString());
    }

    static LockdepReport recursive(String task, List<String> held, LockClass cls, String heldInstance,
                                   String newInstance, List<String> trace) {
        StringBuilder sb = new StringBuilder();
        sb.append("============================================\n");
        sb.append("WARNING: possible recursive locking detected\n");
        sb.append("--------------------------------------------\n");
        sb.append(task).append(" is trying to acquire lock:\n");
        sb.append(" (").append(cls.name).append("){+.+.}, instance ").append(newInstance).append('\n');
        sb.append("\nbut task is already holding lock:\n");
        sb.append(" (").append(cls.name).append("){+.+.}, instance ").append(heldInstance).append('\n');
        sb.append("\nother info that might help us debug this:\n");
        sb.append(" Possible unsafe locking scenario:\n\n");
        sb.append("       CPU0\n       ----\n");
        sb.append("  lock(").append(cls.name).append(");\n");
        sb.append("  lock(").append(cls.name).append(");\n");
        sb.append("\n *** DEADLOCK ***\n\n May be due to missing lock nesting notation\n\n");
        printHeld(sb, task, held);
        sb.append("\nstack backtrace:\n");
        KernelStack.print(sb, trace, " ");
        String json = new Json().beginObject().field("type", "recursive").field("task", task)
                .field("class", cls.name).field("heldInstance", heldInstance).field("newInstance", newInstance)
                .strings("heldLocks", held).strings("stack", trace).endObject().toString();
        return new LockdepReport(Type.RECURSIVE, "recursive:" + cls.name, List.of(cls.name), sb.toString(), json);
    }

    static LockdepReport badUnlock(String task, List<String> held, LockdepMap map, List<String> trace) {
        StringBuilder sb = new StringBuilder();
        sb.append("=====================================\n");
        sb.append("WARNING: bad unlock balance detected!\n");
        sb.append("-------------------------------------\n");
        sb.append(task).append(" is trying to release lock (").append(map.className()).append(") instance ")
                .append(map.name()).append(" at:\n");
        KernelStack.print(sb, trace.isEmpty() ? trace : trace.subList(0, 1), " ");
        sb.append("but there are no more locks to release!\n\n");
        printHeld(sb, task, held);
        sb.append("\nstack backtrace:\n");
        KernelStack.print(sb, trace, " ");
        String json = new Json().beginObject().field("type", "bad_unlock").field("task", task)
                .field("class", map.className()).field("instance", map.name())
                .strings("heldLocks", held).strings("stack", trace).endObject().toString();
        return new LockdepReport(Type.BAD_UNLOCK, "bad_unlock:" + map.className(), List.of(map.className()),
                sb.toString(), json);
    }

    static void printHeld(StringBuilder sb, String task, List<String> held) {
        if (held.isEmpty()) {
            sb.append("no locks held by ").append(task).append(".\n");
            return;
        }
        sb.append(held.size()).append(held.size() == 1 ? " lock" : " locks").append(" held by ").append(task)
                .append(":\n");
        for (int i = 0; i < held.size(); i++) {
            sb.append(" #").append(i).append(": ").append(held.get(i)).append('\n');
        }
    }
}
