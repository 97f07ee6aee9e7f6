/**
 * Runs a campaign: each run in this JVM (a kernel is an instance, several run side by side) or in a child
 * JVM of its own, {@code -j} at a time, with a progress line, a clean stop on Ctrl-C that keeps what
 * finished, and a measure of the harness itself. This is the harness, not emulated code: it uses
 * java.util.concurrent freely.
 */
package dev.reclaimlab.cli.harness;
