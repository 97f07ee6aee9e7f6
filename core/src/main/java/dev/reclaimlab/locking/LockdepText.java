package dev.reclaimlab.locking;

import dev.reclaimlab.locking.LockdepReport.ChainEntry;
import dev.reclaimlab.locking.LockdepReport.ClassVerdict;
import dev.reclaimlab.locking.LockdepReport.HeldLock;
import dev.reclaimlab.locking.LockdepReport.Inversion;
import dev.reclaimlab.locking.LockdepReport.Scenario;
import dev.reclaimlab.locking.LockdepReport.Step;
import dev.reclaimlab.locking.LockdepReport.Style;
import dev.reclaimlab.locking.LockdepReport.UsageTrace;

import java.util.List;

/**
 * The kernel's text of a {@link LockdepReport}, as kernel/locking/lockdep.c prints it in the report's
 * version: 3.14/4.3 title a splat "[ INFO: ... ]" between rules of the source's widths, 4.12 and later
 * "WARNING: ..."; a lock is " (class){usage}", preceded from 4.17 by the instance's hashed address. Where
 * the kernel prints an address and symbol the emulator prints the Java frame ("xfsIlock (XfsInode.java:88)");
 * a held lock's acquire site is not recorded (it would cost a stack walk per acquisition), so the instance's
 * name stands in its place. The irq-event stamp lines of an inconsistent-state report are left out: the
 * emulator has no interrupts. reclaimlab's verdict follows the kernel's text, marked as not kernel output.
 */
final class LockdepText {
    private static final String CPU1 = "                               ";

    private LockdepText() {
    }

    static String render(LockdepReport r) {
        StringBuilder sb = new StringBuilder();
        switch (r.type()) {
            case CIRCULAR:
                circular(sb, r);
                break;
            case RECURSIVE:
                recursive(sb, r);
                break;
            case INCONSISTENT_USAGE:
                inconsistent(sb, r);
                break;
            case IRQ_INVERSION:
                inversion(sb, r);
                break;
            case SAFE_UNSAFE:
                safeUnsafe(sb, r);
                break;
            default:
                badUnlock(sb, r);
        }
        verdict(sb, r);
        return sb.toString();
    }

    /** print_lock(): " (class){usage}" after the hashed instance address where the version prints it. */
    static String lock(HeldLock h) {
        return (h.address() != null ? h.address() : "") + name(h);
    }

    private static String name(HeldLock h) {
        return " (" + h.className() + "){" + h.usage() + "}";
    }

    private static void header(StringBuilder sb, LockdepReport r) {
        Style s = r.style();
        String title;
        int equals;
        int dashes;
        if (s.warningTag()) {
            title = "WARNING: " + r.title();
            equals = title.length();
            dashes = title.length();
        } else {
            title = (r.type() == LockdepReport.Type.BAD_UNLOCK ? "[ BUG: " : "[ INFO: ") + r.title() + " ]";
            equals = title.length();
            dashes = title.length();
            if (r.type() == LockdepReport.Type.CIRCULAR) {
                equals = 54;
            } else if (r.type() == LockdepReport.Type.SAFE_UNSAFE) {
                equals = 54;
                dashes = 54;
            }
        }
        sb.append('\n').append("=".repeat(equals)).append('\n').append(title).append('\n');
        sb.append(ident(s)).append('\n');
        sb.append("-".repeat(dashes)).append('\n');
    }

    /** print_kernel_ident(): release, the first word of the version, the taint. */
    private static String ident(Style s) {
        return release(s) + " #1 Not tainted";
    }

    private static String release(Style s) {
        String v = s.kernelVersion();
        return v.chars().filter(ch -> ch == '.').count() == 1 ? v + ".0" : v;
    }

    private static String who(LockdepReport r) {
        return r.comm() + "/" + r.pid();
    }

    /** print_lock() of the lock being taken: the frame that takes it stands for its acquire ip. */
    private static void acquiring(StringBuilder sb, LockdepReport r) {
        sb.append(lock(r.acquiring()));
        if (r.acquiredAt() != null) {
            sb.append(", at: ").append(r.acquiredAt());
        } else {
            sb.append(", instance ").append(r.acquiring().instanceName());
        }
        sb.append('\n');
    }

    private static void held(StringBuilder sb, HeldLock h) {
        sb.append(heldLine(h)).append('\n');
    }

    /** A held lock's line: print_lock(), with the instance's name where the kernel prints the acquire ip. */
    static String heldLine(HeldLock h) {
        return lock(h) + ", instance " + h.instanceName();
    }

    private static void circular(StringBuilder sb, LockdepReport r) {
        header(sb, r);
        sb.append(who(r)).append(" is trying to acquire lock:\n");
        acquiring(sb, r);
        sb.append("\nbut task is already holding lock:\n");
        held(sb, r.holding());
        sb.append("\nwhich lock already depends on the new lock.\n\n");
        sb.append("\nthe existing dependency chain (in reverse order) is:\n");
        for (ChainEntry e : r.chain()) {
            sb.append("\n-> #").append(e.index()).append(" (").append(e.className()).append("){").append(e.usage())
                    .append("}:\n");
            trace(sb, e.trace(), "       ");
        }
        sb.append("\nother info that might help us debug this:\n\n");
        scenario(sb, r.scenario());
        heldLocks(sb, r);
        backtrace(sb, r);
    }

    private static void recursive(StringBuilder sb, LockdepReport r) {
        header(sb, r);
        sb.append(who(r)).append(" is trying to acquire lock:\n");
        acquiring(sb, r);
        sb.append("\nbut task is already holding lock:\n");
        held(sb, r.holding());
        sb.append("\nother info that might help us debug this:\n");
        scenario(sb, r.scenario());
        heldLocks(sb, r);
        backtrace(sb, r);
    }

    private static void inconsistent(StringBuilder sb, LockdepReport r) {
        header(sb, r);
        LockdepReport.UsageConflict u = r.usageConflict();
        sb.append("inconsistent {").append(u.previous()).append("} -> {").append(u.next()).append("} usage.\n");
        sb.append(who(r)).append(" [HC0[0]:SC0[0]:HE1:SE1] takes:\n");
        acquiring(sb, r);
        sb.append('{').append(u.previous()).append("} state was registered at:\n");
        trace(sb, u.registeredAt(), "  ");
        sb.append("\nother info that might help us debug this:\n");
        scenario(sb, r.scenario());
        heldLocks(sb, r);
        backtrace(sb, r);
    }

    private static void inversion(StringBuilder sb, LockdepReport r) {
        header(sb, r);
        Inversion v = r.inversion();
        sb.append(who(r)).append(" just changed the state of lock:\n");
        acquiring(sb, r);
        sb.append(v.forwards() ? "but this lock took another, " + v.state() + "-unsafe lock in the past:\n"
                : "but this lock was taken by another, " + v.state() + "-safe lock in the past:\n");
        sb.append(name(v.other())).append("\n\nand interrupts could create inverse lock ordering between them.\n\n");
        sb.append("\nother info that might help us debug this:\n");
        scenario(sb, r.scenario());
        heldLocks(sb, r);
        sb.append("\nthe shortest dependencies between 2nd lock and 1st lock:\n");
        dependencies(sb, v.dependencies());
        backtrace(sb, r);
    }

    private static void safeUnsafe(StringBuilder sb, LockdepReport r) {
        header(sb, r);
        Inversion v = r.inversion();
        String s = v.state();
        sb.append(who(r)).append(" [HC0[0]:SC0[0]:HE1:SE1] is trying to acquire:\n");
        acquiring(sb, r);
        sb.append("\nand this task is already holding:\n");
        held(sb, r.holding());
        sb.append("which would create a new lock dependency:\n");
        sb.append(name(r.holding())).append(" ->").append(name(r.acquiring())).append('\n');
        sb.append("\nbut this new dependency connects a ").append(s).append("-irq-safe lock:\n");
        sb.append(name(v.safe())).append("\n... which became ").append(s).append("-irq-safe at:\n");
        trace(sb, v.safeAt(), " ");
        sb.append("\nto a ").append(s).append("-irq-unsafe lock:\n");
        sb.append(name(v.unsafe())).append("\n... which became ").append(s).append("-irq-unsafe at:\n...");
        trace(sb, v.unsafeAt(), " ");
        sb.append("\nother info that might help us debug this:\n\n");
        scenario(sb, r.scenario());
        heldLocks(sb, r);
        sb.append("\nthe dependencies between ").append(s).append("-irq-safe lock and the holding lock:\n");
        dependencies(sb, v.dependencies());
        sb.append("\nthe dependencies between the lock to be acquired and ").append(s).append("-irq-unsafe lock:\n");
        dependencies(sb, v.unsafeDependencies());
        backtrace(sb, r);
    }

    private static void badUnlock(StringBuilder sb, LockdepReport r) {
        header(sb, r);
        sb.append(who(r)).append(" is trying to release lock (").append(r.acquiring().className()).append(") at:\n");
        sb.append(r.acquiredAt() != null ? r.acquiredAt() : r.acquiring().instanceName()).append('\n');
        sb.append("but there are no more locks to release!\n");
        sb.append("\nother info that might help us debug this:\n");
        heldLocks(sb, r);
        backtrace(sb, r);
    }

    /** print_shortest_lock_dependencies(), leaf first, each class indented by its depth. */
    private static void dependencies(StringBuilder sb, List<ChainEntry> deps) {
        for (ChainEntry e : deps) {
            String pad = " ".repeat(e.index());
            sb.append(pad).append("-> (").append(e.className()).append("){").append(e.usage()).append("} {\n");
            for (UsageTrace u : e.states()) {
                sb.append(pad).append("   ").append(u.usage()).append(" at:\n");
                trace(sb, u.trace(), pad + "    ");
            }
            sb.append(pad).append(" }\n");
            sb.append(pad).append(" ... acquired at:\n");
            trace(sb, e.trace(), "   ");
            sb.append('\n');
        }
    }

    private static void scenario(StringBuilder sb, Scenario s) {
        if (s.chainExists() != null) {
            sb.append("Chain exists of:\n  ").append(String.join(" --> ", s.chainExists())).append("\n\n");
        }
        sb.append(' ').append(s.heading()).append(":\n\n");
        boolean two = s.steps().stream().anyMatch(st -> st.cpu() == 1);
        sb.append(two ? "       CPU0                    CPU1\n       ----                    ----\n"
                : "       CPU0\n       ----\n");
        for (Step st : s.steps()) {
            sb.append(st.cpu() == 0 ? "  " : CPU1).append(st.text()).append('\n');
        }
        sb.append("\n *** DEADLOCK ***\n\n");
        if (s.missingNesting()) {
            sb.append(" May be due to missing lock nesting notation\n\n");
        }
    }

    /** lockdep_print_held_locks(). */
    private static void heldLocks(StringBuilder sb, LockdepReport r) {
        List<HeldLock> held = r.heldLocks();
        if (held.isEmpty()) {
            sb.append("no locks held by ").append(who(r)).append(".\n");
            return;
        }
        sb.append(held.size()).append(held.size() == 1 ? " lock" : " locks").append(" held by ").append(who(r))
                .append(":\n");
        for (HeldLock h : held) {
            sb.append(" #").append(h.index()).append(": ");
            held(sb, h);
        }
    }

    /** "stack backtrace:" and dump_stack()'s first line and call trace. */
    private static void backtrace(StringBuilder sb, LockdepReport r) {
        sb.append("\nstack backtrace:\n");
        sb.append("CPU: ").append(r.cpu()).append(" PID: ").append(r.pid()).append(" Comm: ").append(r.comm())
                .append(' ').append("Not tainted ").append(release(r.style())).append(" #1\n");
        sb.append("Call Trace:\n");
        trace(sb, r.stack(), " ");
    }

    private static void trace(StringBuilder sb, List<String> frames, String indent) {
        KernelStack.print(sb, frames, indent);
    }

    private static void verdict(StringBuilder sb, LockdepReport r) {
        LockdepReport.Verdict v = r.verdict();
        if (v == null || v.status() == LockdepReport.Verdict.Status.NONE) {
            return;
        }
        sb.append("\n---- reclaimlab verdict (not kernel output) ----\n");
        sb.append(v.status());
        if (v.byWatchdog()) {
            sb.append(": the watchdog proved a deadlock through these classes");
        } else if (v.status() == LockdepReport.Verdict.Status.CONFIRMED) {
            sb.append(": one lock instance was used on both sides of every class of the cycle");
        } else {
            sb.append(": no lock instance has been used on both sides of every class so far");
        }
        sb.append('\n');
        for (ClassVerdict c : v.classes()) {
            sb.append(' ').append(c.className()).append(": ").append(c.held()).append(c.held() == 1 ? " instance " : " instances ")
                    .append(c.heldSide()).append(", ").append(c.taken()).append(' ').append(c.takenSide()).append(", ")
                    .append(c.both()).append(" on both sides");
            if (c.incomplete()) {
                sb.append(" (uses before the report beyond ").append(InstanceSet.BUDGET)
                        .append(" instances were not recorded)");
            }
            sb.append('\n');
        }
    }
}
