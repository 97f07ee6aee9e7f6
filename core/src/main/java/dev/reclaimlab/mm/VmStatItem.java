package dev.reclaimlab.mm;

import java.util.Locale;

/**
 * The /proc/vmstat items this kernel keeps (enum zone_stat_item, node_stat_item, vm_event_item), in the
 * order /proc/vmstat prints them. Later subsystems add theirs here.
 */
public enum VmStatItem {
    /** Zone gauge kept by the buddy allocator under zone->lock; per-CPU pcp pages are not free. */
    NR_FREE_PAGES(Kind.ZONE),
    NR_SLAB_RECLAIMABLE_B(Kind.NODE),
    NR_SLAB_UNRECLAIMABLE_B(Kind.NODE),
    PGALLOC_NORMAL(Kind.EVENT),
    PGFREE(Kind.EVENT),
    ALLOCSTALL_NORMAL(Kind.EVENT),
    SLABS_SCANNED(Kind.EVENT);

    enum Kind { ZONE, NODE, EVENT }

    private final Kind kind;
    private final String procName;

    VmStatItem(Kind kind) {
        this.kind = kind;
        this.procName = name().toLowerCase(Locale.ROOT);
    }

    Kind kind() {
        return kind;
    }

    /** The name as /proc/vmstat prints it. */
    public String procName() {
        return procName;
    }
}
