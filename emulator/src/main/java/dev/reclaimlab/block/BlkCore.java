package dev.reclaimlab.block;

import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;

/**
 * The device-independent half of submit_bio() (block/blk-core.c generic_make_request_checks(), as in
 * Linux 4.3) that drivers call before they take a bio: fail_make_request. A bio to a device whose
 * make-it-fail is set may be ended at once with -EIO, in the submitter's context as the kernel ends it,
 * having moved no data.
 */
public final class BlkCore {
    private BlkCore() {
    }

    /** should_fail_request(): true when the bio was failed and ended; the driver must then not queue it. */
    public static boolean shouldFailRequest(Kernel kernel, BlockDevice dev, Bio bio) {
        if (!kernel.faultInjection().shouldFailRequest(dev.name(), bio.size())) {
            return false;
        }
        bio.bioEndio(-Errno.EIO);
        return true;
    }
}
