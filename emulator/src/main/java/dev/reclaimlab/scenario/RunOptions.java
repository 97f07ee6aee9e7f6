package dev.reclaimlab.scenario;

import java.util.function.Consumer;

/** What a run may take: how long, how much memory, which random seed; where progress lines go. */
public record RunOptions(long seconds, long seed, long memoryBytes, long hungTaskTimeoutMillis,
                         Consumer<String> progress) {

    public RunOptions {
        if (seconds <= 0) {
            throw new IllegalArgumentException("run: --seconds must be positive, not " + seconds);
        }
        if (hungTaskTimeoutMillis <= 0) {
            throw new IllegalArgumentException("run: hung task timeout must be positive");
        }
        progress = progress == null ? line -> { } : progress;
    }
}
