package dev.reclaimlab.mm;

/** A slab misuse caught by SLUB's checks; the message is the kernel-style report. */
public final class SlabError extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    private final String bug;

    SlabError(String bug, String report) {
        super(report);
        this.bug = bug;
    }

    /** The BUG line's reason, e.g. "Object already free". */
    public String bug() {
        return bug;
    }
}
