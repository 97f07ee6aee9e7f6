/**
 * block/ and drivers/block/ in miniature: bios, the RAM disk, the loop device.
 *
 * <p>Conventions. A bio's completion is owed by whoever the block layer says holds it: the submitter, then
 * the task a device hands it to ({@code Bio.setOwner}), or, while it waits in a queue any of several tasks
 * may take it from, whoever that queue names when the watchdog asks ({@code Bio.setOwnersFrom(work)}).
 * A bio is a {@code Waitable}: waits that follow it declare the bio, never a copy of its owner. Bio
 * statuses are 0 or a negative errno; a bad bio or device use throws, naming the device and the bio.
 */
package dev.reclaimlab.block;
