package dev.reclaimlab.watchdog;

/**
 * Where a task slept in a throttle while progress stood still: how often, for how long in all, and how many
 * of those sleeps were ended early by a wake-up (a clear_bdi_congested()) rather than by their timeout.
 */
public record ThrottleSite(String site, long count, long millis, long wokenEarly) {
}
