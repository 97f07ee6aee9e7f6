package dev.reclaimlab.watchdog;

/** Where a task slept in a throttle while progress stood still: how often, and for how long in all. */
public record ThrottleSite(String site, long count, long millis) {
}
