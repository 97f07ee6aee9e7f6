package dev.reclaimlab.mm;

import java.util.Locale;

/**
 * The /proc/vmstat items this kernel keeps (enum zone_stat_item, node_stat_item, vm_event_item), in the
 * order /proc/vmstat prints them. Later subsystems add theirs here.
 */
public enum VmStatItem {
    /** Kept by the buddy allocator under zone->lock; per-CPU pcp pages are not free. */
    NR_FREE_PAGES(Kind.GAUGE),
    /** The LRU sizes, kept under lru_lock. */
    NR_INACTIVE_FILE(Kind.GAUGE),
    NR_ACTIVE_FILE(Kind.GAUGE),
    NR_ISOLATED_FILE(Kind.GAUGE),
    NR_SLAB_RECLAIMABLE_B(Kind.NODE),
    NR_SLAB_UNRECLAIMABLE_B(Kind.NODE),
    NR_FILE_PAGES(Kind.NODE),
    NR_DIRTY(Kind.NODE),
    NR_WRITEBACK(Kind.NODE),
    /** NFS pages written UNSTABLE and not yet committed (fs/nfs/write.c's nfs_mark_request_commit()). */
    NR_UNSTABLE_NFS(Kind.NODE),
    NR_DIRTIED(Kind.NODE),
    NR_WRITTEN(Kind.NODE),
    /** mm/workingset.c (3.15-4.x): faults on shadows, those activated, shadow nodes reclaimed. */
    WORKINGSET_REFAULT(Kind.NODE),
    WORKINGSET_ACTIVATE(Kind.NODE),
    WORKINGSET_NODERECLAIM(Kind.NODE),
    PGALLOC_NORMAL(Kind.EVENT),
    PGFREE(Kind.EVENT),
    PGACTIVATE(Kind.EVENT),
    PGDEACTIVATE(Kind.EVENT),
    PGROTATED(Kind.EVENT),
    PGSCAN_KSWAPD(Kind.EVENT),
    PGSCAN_DIRECT(Kind.EVENT),
    PGSTEAL_KSWAPD(Kind.EVENT),
    PGSTEAL_DIRECT(Kind.EVENT),
    SLABS_SCANNED(Kind.EVENT),
    PAGEOUTRUN(Kind.EVENT),
    ALLOCSTALL_NORMAL(Kind.EVENT);

    /** GAUGE items are read from the structure that keeps them; the rest are per-CPU diffs. */
    enum Kind { GAUGE, NODE, EVENT }

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
