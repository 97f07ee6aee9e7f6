package dev.reclaimlab.watchdog;

/** One edge of a proven wait-for cycle: {@code from} waits, on {@code via}, for {@code to}. */
public record WaitEdge(String from, String to, String via, String kind) {
}
