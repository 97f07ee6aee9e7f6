/**
 * A fuzz of the emulator's public API, run in a child JVM so that a JVM crash is caught and reported with
 * the call that caused it. {@link dev.reclaimlab.fuzz.Fuzz} is the parent (and the main class);
 * {@link dev.reclaimlab.fuzz.FuzzChild} makes the calls: with a fixed seed, a mix of valid calls (tracked in
 * a model of what the fuzz owns) and invalid ones (bad pfns, orders, addresses, lengths, offsets, gfps,
 * caches, mappings, names, files, bios; closed and foreign kernels) across mm, the VFS and XFS and the block
 * layer, with fault injection switched on and off, and a Linux 2.2 kernel
 * ({@link dev.reclaimlab.fuzz.Linux22Fuzz}: processes with anonymous and shared file mappings under swap, user
 * copies, ext2). Every call gets one {@link dev.reclaimlab.fuzz.Outcome};
 * the run ends by freeing everything it holds and checking the kernels' integrity.
 *
 * <p>Conventions: a call is invalid only when the fuzz is certain it is (the kernels it calls are quiet:
 * no kswapd, no watchdog, and nothing but the fuzz allocates in them), so every silently accepted invalid
 * call is a real finding. The 2.2 kernel runs its own kswapd and bdflush, which the fuzz's invalid calls never
 * depend on: what makes them certain there is the call's own check (an address, a length, a released file).
 * The child writes the current call to a memory-mapped file before making it; the
 * parent reads it after a crash or a hang.
 */
package dev.reclaimlab.fuzz;
