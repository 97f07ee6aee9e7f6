package dev.reclaimlab.mm;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.function.LongSupplier;

/**
 * mm/vmstat.c: per-CPU counter diffs, written by the CPU's holder without atomics (the emulator's
 * __count_vm_event() under preempt_disable), summed on read. Exact whenever no CPU is mid-update.
 */
public final class VmStat {
    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VmStatItem[] ITEMS = VmStatItem.values();
    /** Items per CPU rounded to a cache line, plus a line of padding against false sharing. */
    private static final int STRIDE = ((ITEMS.length + 7) & ~7) + 8;

    private final long[] diffs;
    private final int nrCpus;
    private final LongSupplier[] gauges = new LongSupplier[ITEMS.length];

    VmStat(int nrCpus) {
        this.nrCpus = nrCpus;
        this.diffs = new long[(nrCpus + 1) * STRIDE];
    }

    /** Where a GAUGE item is read from. */
    void setGauge(VmStatItem item, LongSupplier source) {
        if (item.kind() != VmStatItem.Kind.GAUGE) {
            throw new IllegalArgumentException(item + " is not a gauge");
        }
        gauges[item.ordinal()] = source;
    }

    /** __mod_node_page_state()/__count_vm_events(): the caller holds {@code cpu}. */
    void mod(int cpu, VmStatItem item, long delta) {
        int i = (cpu + 1) * STRIDE + item.ordinal();
        diffs[i] += delta;
    }

    void inc(int cpu, VmStatItem item) {
        int i = (cpu + 1) * STRIDE + item.ordinal();
        diffs[i]++;
    }

    /** global_node_page_state() / sum_vm_event(). */
    public long get(VmStatItem item) {
        if (item.kind() == VmStatItem.Kind.GAUGE) {
            LongSupplier g = gauges[item.ordinal()];
            return g == null ? 0 : g.getAsLong();
        }
        long sum = 0;
        for (int c = 0; c < nrCpus; c++) {
            sum += (long) LONGS.getOpaque(diffs, (c + 1) * STRIDE + item.ordinal());
        }
        return sum;
    }

    /** Every item now, by its /proc/vmstat name, in /proc/vmstat's order. */
    public java.util.Map<String, Long> snapshot() {
        java.util.Map<String, Long> m = new java.util.LinkedHashMap<>();
        for (VmStatItem it : ITEMS) {
            m.put(it.procName(), get(it));
        }
        return java.util.Collections.unmodifiableMap(m);
    }

    /** The text of /proc/vmstat: one "name value" line per item. */
    public String procVmstat() {
        StringBuilder sb = new StringBuilder();
        for (java.util.Map.Entry<String, Long> e : snapshot().entrySet()) {
            sb.append(e.getKey()).append(' ').append(e.getValue()).append('\n');
        }
        return sb.toString();
    }
}
