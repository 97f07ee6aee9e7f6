/**
 * Every JSON the command line writes or reads, with Jackson, in one place (DESIGN.md rule 12: core keeps
 * no JSON code). Records are written by their components in declaration order, nulls left out; readers
 * ignore fields they do not know, so an older harness reads a newer run, except campaign files, which
 * a person writes and where an unknown field is a typo to report.
 */
package dev.reclaimlab.cli.json;
