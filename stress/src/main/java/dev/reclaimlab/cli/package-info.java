/** The {@code reclaimlab} command line: scenarios, stress campaigns, reports. */
package dev.reclaimlab.cli;
