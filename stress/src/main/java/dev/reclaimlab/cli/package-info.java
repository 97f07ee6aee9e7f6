/** The {@code reclaimlab} command line: scenarios, runs, reports. */
package dev.reclaimlab.cli;
