/**
 * What a stress campaign runs: scenarios x variants x seeds ({@link dev.reclaimlab.cli.campaign.RunSpec}),
 * from options or a campaign file, and which slice of it a shard takes. Everything here checks its input
 * and throws {@link dev.reclaimlab.cli.UsageException} with a one-line reason; nothing here runs a kernel.
 */
package dev.reclaimlab.cli.campaign;
