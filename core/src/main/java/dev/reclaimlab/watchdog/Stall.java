package dev.reclaimlab.watchdog;

import java.util.List;

/**
 * What a stall report says about the progress that stood still: the counter, its value, how long it stayed
 * below its floor, the floor (per second; 0 means "did not move at all"), the rate it did make, and, per
 * task that ran or throttled meanwhile, the throttle sites it slept in.
 */
public record Stall(String counter, long value, long stalledMillis, double floorPerSecond, double ratePerSecond,
                    List<StallTask> tasks) {

    public Stall {
        tasks = List.copyOf(tasks);
    }

    /** One busy task of a stall: as shown, plus its throttle sites over the stall. */
    public record StallTask(BlockedTask task, List<ThrottleSite> throttles) {
        public StallTask {
            throttles = List.copyOf(throttles);
        }
    }
}
