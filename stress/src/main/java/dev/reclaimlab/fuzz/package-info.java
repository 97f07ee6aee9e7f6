/**
 * A fuzz of the emulator's public API, run in a child JVM so that a JVM crash is caught and reported with
 * the call that caused it. {@link dev.reclaimlab.fuzz.Fuzz} is the parent (and the main class);
 * {@link dev.reclaimlab.fuzz.FuzzChild} makes the calls: with a fixed seed, a mix of valid calls (tracked in
 * a model of what the fuzz owns) and invalid ones (bad pfns, orders, addresses, lengths, offsets, gfps,
 * caches, mappings, names, files, bios; closed and foreign kernels) across mm, the VFS and XFS and the block
 * layer, with fault injection switched on and off. Every call gets one {@link dev.reclaimlab.fuzz.Outcome};
 * the run ends by freeing everything it holds and checking the kernels' integrity.
 *
 * <p>Conventions: a call is invalid only when the fuzz is certain it is (the kernels it calls are quiet:
 * no kswapd, no watchdog, and nothing but the fuzz allocates in them), so every silently accepted invalid
 * call is a real finding. The child writes the current call to a memory-mapped file before making it; the
 * parent reads it after a crash or a hang.
 */
package dev.reclaimlab.fuzz;
