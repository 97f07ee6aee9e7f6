package dev.reclaimlab.locking;

/** /proc/lockdep_stats: a snapshot of one kernel's lockdep counters. */
public final class LockdepStats {
    private final int lockClasses;
    private final int directDependencies;
    private final int dependencyChains;
    private final long chainLookupHits;
    private final long chainLookupMisses;
    private final int reports;

    LockdepStats(int lockClasses, int directDependencies, int dependencyChains, long chainLookupHits,
                 long chainLookupMisses, int reports) {
        this.lockClasses = lockClasses;
        this.directDependencies = directDependencies;
        this.dependencyChains = dependencyChains;
        this.chainLookupHits = chainLookupHits;
        this.chainLookupMisses = chainLookupMisses;
        this.reports = reports;
    }

    public int lockClasses() {
        return lockClasses;
    }

    public int directDependencies() {
        return directDependencies;
    }

    public int dependencyChains() {
        return dependencyChains;
    }

    /** Approximate under contention: striped counters bumped without atomics on the hot path. */
    public long chainLookupHits() {
        return chainLookupHits;
    }

    public long chainLookupMisses() {
        return chainLookupMisses;
    }

    public int reports() {
        return reports;
    }

    @Override
    public String toString() {
        return " lock-classes:                  " + lockClasses + "\n"
                + " direct dependencies:           " + directDependencies + "\n"
                + " dependency chains:             " + dependencyChains + "\n"
                + " chain lookup hits:             " + chainLookupHits + "\n"
                + " chain lookup misses:           " + chainLookupMisses + "\n"
                + " lockdep reports:               " + reports + "\n";
    }
}
