package dev.reclaimlab.cli.report;

import java.util.Locale;

/** Durations as people read them: 45s, 3m07s, 2h05m. */
public final class Durations {
    private Durations() {
    }

    public static String text(long seconds) {
        if (seconds >= 3600) {
            return String.format(Locale.ROOT, "%dh%02dm", seconds / 3600, seconds % 3600 / 60);
        }
        if (seconds >= 60) {
            return String.format(Locale.ROOT, "%dm%02ds", seconds / 60, seconds % 60);
        }
        return seconds + "s";
    }
}
