/**
 * kernel/hung_task.c and what DESIGN.md adds to it: the wait-for graph of each scan, proofs of deadlock,
 * the kernel's own hung-task rule for the booted version, and stalls of registered progress.
 *
 * <p>Conventions. A scan only reads: wait records, task states and switch counts, progress counters. A
 * cycle is reported when it is still there, with the same tasks in the same waits, on the next scan. A
 * report is an immutable record ({@link dev.reclaimlab.watchdog.WatchdogReport} with its
 * {@link dev.reclaimlab.watchdog.BlockedTask}s), captured once; its kernel text is rendered from the
 * fields and JSON is written outside core. Reports go to dmesg; with hung_task_panic the first one panics
 * the kernel, which unwinds every waiter.
 */
package dev.reclaimlab.watchdog;
