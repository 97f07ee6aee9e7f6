package dev.reclaimlab.cli.report;

import java.util.List;

/** The few statistics a campaign needs. */
final class Stats {
    /** z for a two-sided 95 % interval. */
    static final double Z95 = 1.959963984540054;

    private Stats() {
    }

    /**
     * Wilson score interval of k successes in n trials: unlike the normal approximation it stays inside
     * [0, 1] and is honest at 0 of n and n of n, which is where a deadlock reproducer or a fix lives.
     */
    static double[] wilson(int k, int n) {
        if (n == 0) {
            return new double[] {0, 1};
        }
        double p = (double) k / n;
        double z2 = Z95 * Z95;
        double denom = 1 + z2 / n;
        double centre = (p + z2 / (2 * n)) / denom;
        double half = Z95 / denom * Math.sqrt(p * (1 - p) / n + z2 / (4.0 * n * n));
        return new double[] {Math.max(0, centre - half), Math.min(1, centre + half)};
    }

    /** Nearest-rank percentile of sorted values (p in (0, 100]). */
    static long percentile(List<Long> sorted, double p) {
        if (sorted.isEmpty()) {
            throw new IllegalArgumentException("percentile of nothing");
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.size());
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
    }

    static double round4(double v) {
        return Math.round(v * 10_000) / 10_000.0;
    }
}
