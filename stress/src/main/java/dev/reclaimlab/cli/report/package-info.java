/**
 * What a campaign's runs add up to, and the files people and CI read: per-variant statistics
 * ({@link dev.reclaimlab.cli.report.Summary}: rates with Wilson intervals, detection times, pressure of clean
 * runs, failures deduplicated by a syzkaller-style {@link dev.reclaimlab.cli.report.FailureTitle}),
 * summary.json, junit.xml as xfstests writes it, and a self-contained report.html. Everything here is a
 * function of the run records, so a merge of shards reproduces the unsharded campaign's outputs.
 */
package dev.reclaimlab.cli.report;
