/**
 * The {@code reclaimlab} command line (picocli): {@code list} the scenarios, {@code run} one variant,
 * {@code stress} a campaign of scenarios x variants x seeds, {@code merge} shard outputs. Commands check
 * their input and throw {@link dev.reclaimlab.cli.UsageException}, which becomes one line and exit 2.
 * Subpackages: {@code json} (every JSON in and out, Jackson), {@code campaign} (what to run),
 * {@code harness} (running it), {@code report} (statistics, summary, JUnit XML, HTML).
 */
package dev.reclaimlab.cli;
