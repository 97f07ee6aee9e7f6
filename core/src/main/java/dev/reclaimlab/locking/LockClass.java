package dev.reclaimlab.locking;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * struct lock_class: one (key, subclass) in one kernel. Its printed name is fixed at registration, as
 * __print_lock_name() prints it: the key's name for the booted version, "#N" when an earlier class had
 * the same name (count_matching_names()), "/N" for a subclass. The usage mask and the per-bit traces
 * (usage_traces[]) are set once per bit under the graph lock and read racily, as the kernel does. The
 * instance sets belong to reclaimlab's verdicts.
 */
final class LockClass {
    private static final VarHandle ABOVE;
    private static final VarHandle BELOW;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            ABOVE = l.findVarHandle(LockClass.class, "above", InstanceSet.class);
            BELOW = l.findVarHandle(LockClass.class, "below", InstanceSet.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final int idx;
    final LockClassKey key;
    final int subclass;
    /** class->name, without #N or /N. */
    final String baseName;
    /** class->name_version. */
    final int nameVersion;
    /** The name as reports print it. */
    final String name;
    /** Whether this is a pseudo-lock nobody waits on (fs_reclaim): a verdict never asks for its instances. */
    final boolean pseudo;
    /** How the booted kernel prints locks. */
    final LockdepReport.Style style;
    /** usage_mask; written under the graph lock, read racily. */
    volatile int usageMask;
    /** usage_traces[bit], saved the first time the bit was set. */
    final List<String>[] usageTraces;
    /** locks_after / locks_before; guarded by the graph lock. */
    final List<LockEdge> after = new ArrayList<>();
    final List<LockEdge> before = new ArrayList<>();
    /** Watched dependencies into this class (copy-on-write under the graph lock), or null. */
    volatile WatchedEdge[] watchedIn;
    @SuppressWarnings("unused") // accessed through ABOVE
    private volatile InstanceSet above;
    @SuppressWarnings("unused") // accessed through BELOW
    private volatile InstanceSet below;

    @SuppressWarnings("unchecked")
    LockClass(int idx, LockClassKey key, int subclass, String baseName, int nameVersion, boolean pseudo,
              LockdepReport.Style style) {
        this.idx = idx;
        this.key = key;
        this.subclass = subclass;
        this.baseName = baseName;
        this.nameVersion = nameVersion;
        this.pseudo = pseudo;
        this.style = style;
        String n = nameVersion > 1 ? baseName + "#" + nameVersion : baseName;
        this.name = subclass == 0 ? n : n + "/" + subclass;
        this.usageTraces = new List[LockUsage.NR_BITS];
    }

    /** get_usage_chars() for the booted kernel's states. */
    String usage() {
        return LockUsage.usageChars(usageMask, style.usageStates());
    }

    boolean has(int bit) {
        return (usageMask & (1 << bit)) != 0;
    }

    /** Instances held across a reclaim-capable allocation (created on first use). */
    InstanceSet above() {
        return set(ABOVE);
    }

    /** Instances taken (not trylocked) in reclaim context. */
    InstanceSet below() {
        return set(BELOW);
    }

    private InstanceSet set(VarHandle h) {
        InstanceSet s = (InstanceSet) h.getAcquire(this);
        if (s == null) {
            InstanceSet fresh = new InstanceSet();
            s = (InstanceSet) h.compareAndExchange(this, null, fresh);
            if (s == null) {
                s = fresh;
            }
        }
        return s;
    }

    @Override
    public String toString() {
        return name;
    }
}
